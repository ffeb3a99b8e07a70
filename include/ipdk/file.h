/*
 * Files replaced whole (state files): written beside the old one, flushed to
 * disk and renamed over it, so a reader sees the old file or the new one.
 */
#ifndef IPDK_FILE_H
#define IPDK_FILE_H

#include <stddef.h>

/* Replaces path with len bytes of data (PATH.tmp, fsync, rename); 0 or a
 * negative errno, with PATH.tmp removed on failure. */
int ipdk_file_replace(const char *path, const void *data, size_t len);

#endif
