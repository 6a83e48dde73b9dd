#!/usr/bin/env bash
# A bearer token for the registration API and its REGISTRY_TOKENS_FILE
# line (the file holds only the token's SHA-256, never the token).
#
#   scripts/registry-token.sh TENANT          # draws a new random token
#   printf %s "$TOKEN" | scripts/registry-token.sh TENANT -   # hashes yours
#
# Prints the token (give it to the tenant, once) on the first line and the
# line to append to REGISTRY_TOKENS_FILE on the second. The worker reads
# the file at start: restart it after a change.
set -euo pipefail

tenant=${1:-}
if ! [[ $tenant =~ ^[A-Za-z0-9_.-]{1,64}$ ]]; then
    echo "usage: $0 TENANT [-]   (TENANT: 1-64 of [A-Za-z0-9_.-])" >&2
    exit 2
fi
if [ "${2:-}" = "-" ]; then
    token=$(cat)
else
    token=wht_$(openssl rand -hex 32)
fi
if [ -z "$token" ]; then
    echo "$0: empty token" >&2
    exit 2
fi
hash=$(printf %s "$token" | openssl dgst -sha256 -r | cut -d' ' -f1)
printf 'token: %s\n' "$token"
printf '%s %s\n' "$tenant" "$hash"
