#!/bin/sh
# gen-certs.sh: creates the certificates for ipdk's gRPC servers (P4Runtime,
# gNMI, storage API) with the openssl CLI: a CA, a server certificate for the
# given host names / IP addresses and a client certificate, all signed by the
# CA. The server uses ca.crt + server.{crt,key}; clients use ca.crt +
# client.{crt,key}. Existing files in DIR are overwritten.
#
# usage: gen-certs.sh [-d DAYS] [-n CA_NAME] DIR HOST_OR_IP [HOST_OR_IP...]
set -eu

days=365
ca_name="ipdk CA"

usage() {
	echo "usage: $0 [-d DAYS] [-n CA_NAME] DIR HOST_OR_IP [HOST_OR_IP...]" >&2
	exit 2
}

while getopts d:n:h opt; do
	case $opt in
	d) days=$OPTARG ;;
	n) ca_name=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || usage
dir=$1
shift
command -v openssl >/dev/null || { echo "$0: openssl not found" >&2; exit 1; }

# subjectAltName: IP addresses as IP:, everything else as DNS:.
san=""
for name in "$@"; do
	if printf '%s' "$name" | grep -Eq '^[0-9.]+$|:'; then
		entry="IP:$name"
	else
		entry="DNS:$name"
	fi
	san="${san:+$san,}$entry"
done

mkdir -p "$dir"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# CA: self-signed, allowed to sign certificates only.
newkey "$dir/ca.key"
openssl req -x509 -new -key "$dir/ca.key" -sha256 -days "$days" -subj "/CN=$ca_name" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" -out "$dir/ca.crt"

# sign NAME CN EXTENSIONS: a key, a CSR and a certificate signed by the CA.
sign() {
	newkey "$dir/$1.key"
	openssl req -new -key "$dir/$1.key" -subj "/CN=$2" -out "$tmp/$1.csr"
	printf '%s\n' "$3" > "$tmp/$1.ext"
	openssl x509 -req -in "$tmp/$1.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
		-CAcreateserial -CAserial "$tmp/ca.srl" -sha256 -days "$days" \
		-extfile "$tmp/$1.ext" -out "$dir/$1.crt" 2>/dev/null
}

sign server "$1" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$san"
sign client "ipdk client" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

chmod 644 "$dir/ca.crt" "$dir/server.crt" "$dir/client.crt"
echo "$0: wrote ca.{crt,key} server.{crt,key} client.{crt,key} to $dir (SAN $san)"
