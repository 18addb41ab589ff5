#!/usr/bin/env bash
# Regenerates Sources/FieldlinkPayload/Sparkplug/sparkplug_b.pb.swift from sparkplug_b.proto.
# Run by hand after changing the schema, and commit the result: builds never run protoc.
# Needs protoc (apt: protobuf-compiler) and swift-protobuf's protoc-gen-swift at the version
# Package.swift depends on (built here from the package's own checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=Sources/FieldlinkPayload/Sparkplug
command -v protoc >/dev/null || { echo "generate-sparkplug: protoc missing (apt-get install protobuf-compiler)" >&2; exit 1; }
swift package resolve
swift build -c release --product protoc-gen-swift --package-path .build/checkouts/swift-protobuf
plugin=.build/checkouts/swift-protobuf/.build/release/protoc-gen-swift
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Internal --swift_out="$dir" --proto_path="$dir" "$dir/sparkplug_b.proto"
echo "generated $dir/sparkplug_b.pb.swift with $("$plugin" --version)"
