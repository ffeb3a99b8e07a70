/* placeholder: filled in by its owner */
typedef int ipdk_placeholder_pipeline;
