# syntax=docker/dockerfile:1
# Build the manager binary.
FROM golang:1.26.8 AS builder
ARG TARGETOS
ARG TARGETARCH
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
COPY labs/ labs/
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags="-s -w" -o manager ./cmd/rotation-operator
# The labs' registry in a cluster (config/registry) runs from this image too.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags="-s -w" -o lab-registry ./cmd/lab-registry

# The Terraform kubernetes provider, built from the same wrapper module the
# tests use and laid out as a filesystem_mirror: graded Terraform may use
# this provider and no other (the runner's CLI config allows only the mirror).
FROM golang:1.26.8 AS provider
ARG TARGETOS
ARG TARGETARCH
# Keep in step with internal/toolchain.TerraformProviderVersion.
ARG PROVIDER_VERSION=3.2.1
WORKDIR /workspace
COPY hack/tools/terraform-provider-kubernetes/ ./
RUN GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} CGO_ENABLED=0 \
    go build -trimpath -ldflags="-s -w" -o /out/terraform-provider-kubernetes github.com/hashicorp/terraform-provider-kubernetes && \
    dir=/mirror/registry.terraform.io/hashicorp/kubernetes/${PROVIDER_VERSION}/${TARGETOS:-linux}_${TARGETARCH:-amd64} && \
    mkdir -p "$dir" && mv /out/terraform-provider-kubernetes "$dir/terraform-provider-kubernetes_v${PROVIDER_VERSION}"

# The terraform CLI the runner drives (terraform-exec).
FROM hashicorp/terraform:1.11.4 AS terraform

# Distroless static: no shell, no package manager, runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /
COPY --from=builder /workspace/manager /manager
COPY --from=terraform /bin/terraform /usr/local/bin/terraform
COPY --from=provider /mirror /opt/terraform/mirror
COPY --from=builder /workspace/lab-registry /lab-registry
USER 65532:65532
ENTRYPOINT ["/manager"]
