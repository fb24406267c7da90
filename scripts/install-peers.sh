#!/usr/bin/env bash
# Installs the Debian packages berth's tests and demo need (peers, busybox-static
# for offline base images, a C compiler for berth-runc's helper). Idempotent:
# apt is only touched when something is missing.
set -euo pipefail

packages=(busybox-static gcc libc6-dev jq openssl gnupg apache2-utils zstd attr)
if [[ "${1:-}" != "--minimal" ]]; then
  packages+=(docker-registry skopeo umoci runc crun buildah podman oci-image-tool uidmap iproute2 zsh fish groff-base)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if (( ${#missing[@]} > 0 )); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-peers: missing ${missing[*]}; run as root (or: sudo $0 $*)" >&2
    exit 1
  fi
  echo "install-peers: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
