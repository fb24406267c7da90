#!/usr/bin/env bash
# berth's main job end to end, offline, on embedded defaults: make a base image
# without any registry, move it through every format, keep it in the local
# store, push it to berth's embedded registry, sign and verify it there, pull
# it back, unpack it and run it; then build a Dockerfile on it, and a Node project, and run those.
set -euo pipefail
cd "$(dirname "$0")/.."

berth() { dist/bin/berth.js "$@"; }
step() { printf '\n== %s\n' "$*"; }

work=$(mktemp -d /tmp/berth-demo.XXXXXX)
registry_pid=""
cleanup() {
  [[ -n "$registry_pid" ]] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export BERTH_ROOT="$work/berth-root"

step "make an offline base image from busybox-static"
node dist/fixtures/base-image/makeBaseImage.js "$work/base" demo
digest=$(berth inspect --format '{{.Digest}}' "oci:$work/base:demo")
echo "base image $digest"

step "move it through every format: oci → oci-archive → docker-archive → dir → oci"
berth copy -q "oci:$work/base:demo" "oci-archive:$work/demo.tar:demo"
berth copy -q "oci-archive:$work/demo.tar:demo" "docker-archive:$work/docker.tar:localhost/demo:1"
berth copy -q "docker-archive:$work/docker.tar" "dir:$work/dir"
berth copy -q "dir:$work/dir" "oci:$work/roundtrip:demo"
echo "after the round trip: $(berth inspect --format '{{.Digest}}' "oci:$work/roundtrip:demo") (docker-archive rewrites OCI manifests as Docker schema2)"

step "keep it in the local store"
berth copy -q "oci:$work/base:demo" berth:localhost/demo:1
berth images

step "serve the embedded registry and push to it"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
dist/bin/berth.js registry serve --addr "127.0.0.1:$port" --root "$work/registry" --quiet &
registry_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
berth copy --dest-tls-verify=false berth:localhost/demo:1 "docker://127.0.0.1:$port/demo/app:1"
berth list-tags --tls-verify=false "docker://127.0.0.1:$port/demo/app"

step "sign it (cosign format) and verify the signature at the registry"
printf 'demo-passphrase\n' >"$work/pass"
berth generate-key --output-prefix "$work/cosign" --passphrase-file "$work/pass"
berth sign --tls-verify=false --key "$work/cosign.key" --passphrase-file "$work/pass" "docker://127.0.0.1:$port/demo/app:1"
berth verify --tls-verify=false --key "$work/cosign.pub" "docker://127.0.0.1:$port/demo/app:1" >/dev/null && echo "signature verified"

step "pull it back and unpack it into a runtime bundle"
berth copy -q --src-tls-verify=false "docker://127.0.0.1:$port/demo/app:1" "oci:$work/pulled:demo"
berth unpack -q "oci:$work/pulled:demo" "$work/bundle"
ls "$work/bundle"

step "run it with berth-runc: from the registry into the local store, then a container"
if [[ $(id -u) -eq 0 ]]; then
  berth copy -q --src-tls-verify=false "docker://127.0.0.1:$port/demo/app:1" berth:localhost/demo-pulled:1
  berth run --rm --hostname demo berth:localhost/demo-pulled:1 /bin/sh -c 'echo "hello from $(hostname) as $(id -un), pid $$"'
else
  echo "not root: skipping the container run (berth-runc needs root or a user namespace)"
fi

step "build a multi-stage Dockerfile on it (RUN, COPY, a heredoc), offline, and run the result"
if [[ $(id -u) -eq 0 ]]; then
  mkdir -p "$work/app"
  echo "berth" >"$work/app/name.txt"
  cat >"$work/app/Dockerfile" <<'DOCKERFILE'
FROM localhost/demo:1 AS build
COPY name.txt /src/
RUN <<EOF
mkdir -p /out
tr a-z A-Z < /src/name.txt > /out/shout
EOF
FROM localhost/demo:1
COPY --from=build /out/shout /etc/shout
CMD ["sh", "-c", "echo built by $(cat /etc/shout), run by berth-runc"]
DOCKERFILE
  berth build -t localhost/demo-built:1 "$work/app"
  berth run --rm localhost/demo-built:1
else
  echo "not root: skipping the build (RUN steps run in berth-runc containers)"
fi

step "build a Node project without a Dockerfile (dependencies from its lockfile, offline) and run it"
node_base=$(node dist/fixtures/base-image/makeNodeBaseImage.js "$work/node-base")
cp -r fixtures/node/plain-app "$work/node-app"
berth build-node --base "$node_base" -t localhost/demo-node:1 "$work/node-app"
if [[ $(id -u) -eq 0 ]]; then
  berth run --rm localhost/demo-node:1
else
  echo "not root: skipping the container run"
fi
step "done"
