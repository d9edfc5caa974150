#!/usr/bin/env bash
# Installs the Debian packages strata builds with and tests against. Idempotent and quiet when
# everything is already present; needs root (or sudo) only when something is missing.
set -euo pipefail
build_pkgs=(cmake g++ make pkg-config libarchive-dev nlohmann-json3-dev libzstd-dev libfmt-dev
  libssl-dev zlib1g-dev libgtest-dev libseccomp-dev libcurl4-openssl-dev libcrypt-dev)
# nftables (or iptables) is what strata's bridge networks run at runtime; iproute2 the tests' `ip`.
peer_pkgs=(python3 docker.io docker-registry skopeo umoci busybox-static debootstrap jq tar gzip apache2-utils curl time
  nftables iptables iproute2)
# make fuzz: clang's libFuzzer with libc++ (see STRATA_FUZZ_ENGINE in CMakeLists.txt).
fuzz_pkgs=(clang-16 libclang-rt-16-dev libc++-16-dev libc++abi-16-dev)
want=("${build_pkgs[@]}")
case "${1:-}" in
  --build-only) ;;
  --fuzz) want+=("${fuzz_pkgs[@]}") ;;
  *) want+=("${peer_pkgs[@]}") ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
