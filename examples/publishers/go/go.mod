// For building with modules (a module proxy reachable): `go mod tidy && go build`.
// scripts/build.sh builds in GOPATH mode against Debian's golang-*-dev sources instead.
module example.com/platform

go 1.19

require (
	github.com/nats-io/nats.go v1.22.1
	google.golang.org/protobuf v1.28.1
)
