#!/bin/sh
# Build a local stand-in for the official node:20-bookworm-slim image, for
# machines where no registry is reachable: a minimal Debian bookworm (apt
# works) plus this machine's node, npm and node headers under /usr/local,
# imported into podman (or docker) as IMAGE.
#
#   test/e2e/container/make-parent.sh [IMAGE]        (default: berth/parent)
#
# Environment:
#   ENGINE       the engine command, word-split (default: podman); e.g.
#                "podman --root /tmp/x/root --runroot /tmp/x/run"
#   MIRROR       Debian mirror (default: the first URIs of
#                /etc/apt/sources.list.d/debian.sources, else deb.debian.org)
#   SUITE        default: bookworm
#   PARENT_CACHE a tarball path: reused when it exists, written otherwise
#
# Uses mmdebstrap when installed (about twice as fast: one apt run, unsafe
# I/O, output streamed as a tar), else debootstrap. Needs root.
set -eu
IMAGE=${1:-berth/parent}
ENGINE=${ENGINE:-podman}
SUITE=${SUITE:-bookworm}
NODE=$(command -v node)
NODE=$(readlink -f "$NODE")
NODE_PREFIX=$(dirname "$(dirname "$NODE")")       # /usr for /usr/bin/node

if [ -z "${MIRROR:-}" ]; then
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    MIRROR=$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
  elif [ -r /etc/apt/sources.list ]; then
    MIRROR=$(awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit }' /etc/apt/sources.list)
  fi
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi

# What Debian's slim images leave out; also applies to later apt-get installs.
SLIM='path-exclude=/usr/share/man/*
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-exclude=/usr/share/lintian/*'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s\n' "$SLIM" > "$tmp/slim"

# node, npm (when installed) and the headers node-gyp needs, as /usr/local.
stage_node() {   # $1: root dir
  mkdir -p "$1/usr/local/bin" "$1/usr/local/lib" "$1/usr/local/include"
  cp "$NODE" "$1/usr/local/bin/node"
  if [ -d "$NODE_PREFIX/lib/node_modules/npm" ]; then
    cp -a "$NODE_PREFIX/lib/node_modules" "$1/usr/local/lib/"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"
  fi
  if [ -d "$NODE_PREFIX/include/node" ]; then
    cp -a "$NODE_PREFIX/include/node" "$1/usr/local/include/"
  fi
}

make_tar() {   # $1: output tarball
  out=$1
  stage="$tmp/stage"
  mkdir -p "$stage/etc/dpkg/dpkg.cfg.d"
  cp "$tmp/slim" "$stage/etc/dpkg/dpkg.cfg.d/slim"
  stage_node "$stage"
  if command -v mmdebstrap >/dev/null; then
    set -- --variant=minbase --mode=root --dpkgopt=force-unsafe-io \
      --dpkgopt="$tmp/slim" --customize-hook="cp -a '$stage/.' \"\$1/\""
    # eatmydata (when installed) skips the fsyncs of dpkg; its hook needs dpkg-architecture
    if command -v eatmydata >/dev/null && command -v dpkg-architecture >/dev/null && [ -d /usr/share/mmdebstrap/hooks/eatmydata ]; then
      set -- "$@" --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata
    fi
    mmdebstrap "$@" "$SUITE" "$out" "$MIRROR"
  elif command -v debootstrap >/dev/null; then
    root="$tmp/root"
    debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR"
    rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
    cp -a "$stage/." "$root/"
    tar --numeric-owner -C "$root" -cf "$out" .
  else
    echo "make-parent: needs mmdebstrap or debootstrap (apt-get install debootstrap)" >&2
    exit 1
  fi
}

if [ -n "${PARENT_CACHE:-}" ] && [ -s "$PARENT_CACHE" ]; then
  tarball=$PARENT_CACHE
else
  tarball="$tmp/parent.tar"
  make_tar "$tarball"
  if [ -n "${PARENT_CACHE:-}" ]; then
    mkdir -p "$(dirname "$PARENT_CACHE")"
    cp "$tarball" "$PARENT_CACHE.tmp" && mv "$PARENT_CACHE.tmp" "$PARENT_CACHE"
  fi
fi

# shellcheck disable=SC2086
$ENGINE import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  "$tarball" "$IMAGE" >/dev/null
echo "make-parent: $IMAGE from $SUITE ($MIRROR) + node $("$NODE" --version)"
