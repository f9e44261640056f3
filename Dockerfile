# shadowload as a container image: a static binary on an empty base,
# running as a non-root user. The build needs no network beyond the Go
# module proxy (go mod download); the scenarios ship inside the binary.
#
#   docker build -t shadowload .
#   docker run --rm shadowload run --help
#
# Build stage: the Go toolchain of go.mod's version.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/shadowload ./cmd/shadowload \
 && mkdir -p /out/tmp && chmod 1777 /out/tmp

# Run stage: nothing but the binary, the trust roots that real AWS IoT
# Core endpoints chain to (Amazon Root CA through the system bundle), and a
# writable /tmp for the reports' temporary files.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/shadowload /shadowload
COPY --from=build /out/tmp /tmp
USER 65532:65532
ENTRYPOINT ["/shadowload"]
CMD ["help"]
