# rotation-operator Makefile (kubebuilder layout). `make help` lists the targets.

IMG ?= ghcr.io/handson-dev/rotation-operator:latest
CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.3
GOLANGCI_LINT_VERSION ?= v2.6.2

LOCALBIN ?= $(shell pwd)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
# Test timeout: the first run builds the control plane from source (~12 min cold).
TEST_TIMEOUT ?= 40m

.DEFAULT_GOAL := help
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs and the operator ClusterRole from the Go markers.
	$(CONTROLLER_GEN) rbac:roleName=rotation-operator crd:maxDescLen=400 paths="./api/..." paths="./controllers/..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: tools
tools: ## Build (once) and cache the control plane (kube-apiserver, etcd, kube-controller-manager, kube-scheduler, kwok), the Terraform provider mirror, and the learner's CLIs the machine lacks (helm, crane; OpenTofu if there is no terraform or tofu).
	@echo "make tools: each component is downloaded or built once, then cached in ~/.cache/rotation-operator/tools"
	go run ./hack/ensure-tools -learner kubernetes etcd kwok terraform-provider-kubernetes

.PHONY: test
test: manifests generate vet ## Run all tests against a real control plane (builds it on first use), then the fuzz targets briefly.
	go test ./... -count=1 -timeout $(TEST_TIMEOUT)
	$(MAKE) fuzz

# Fuzz targets over everything the operator parses from learner- or
# author-written data, as package:Target. Each runs for FUZZTIME; go test
# runs one -fuzz target per invocation. A small minimize budget keeps slow
# inputs (a whole Helm release) from stalling a short run.
FUZZTIME ?= 10s
FUZZMINIMIZETIME ?= 200x
FUZZ_TARGETS = \
	./internal/grading:FuzzCompileAndEvaluate \
	./internal/grading/facts/helm:FuzzDecodeRelease \
	./internal/grading/facts/kube:FuzzNormalize \
	./internal/submission:FuzzFromConfigMap \
	./internal/submission:FuzzDigest \
	./internal/lab:FuzzValidateStarter

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME (default 10s), e.g. make fuzz FUZZTIME=60s.
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn in $$pkg for $(FUZZTIME)"; \
		for try in 1 2; do \
			out=$$(go test $$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) 2>&1) && { echo "$$out" | tail -2; break; }; \
			echo "$$out"; \
			if [ $$try = 1 ] && echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input written'; then \
				echo "fuzz engine stopped at its deadline with no failing input (a known go test -fuzz flake under load): running $$fn again"; continue; \
			fi; \
			exit 1; \
		done; \
	done

.PHONY: bench
bench: ## Run the benchmarks: grading cost, Helm fact collection, Terraform grading latency and throughput (local subprocess vs runner Job), change-to-status latency, real node startup (bench-node), and the scale benchmark (bench-scale).
	go test $$(go list ./internal/grading/... | grep -v /facts/terraform) -run '^$$' -bench . -benchmem -count 3
	go test ./internal/grading/facts/terraform/ -run '^$$' -bench . -benchtime 1x -count 1 -timeout 60m
	go test ./controllers/ -run '^$$' -bench 'ChangeToStatus|HelmUpgrade' -benchtime 1x -count 3
	go test ./controllers/ -run '^$$' -bench TerraformExecutors -benchtime 10x -count 1
	$(MAKE) bench-node
	$(MAKE) bench-scale

.PHONY: bench-node
bench-node: ## Real node startup (docs/benchmarks.md): node Ready, pod create -> Ready on the real node and on kwok side by side, lab apply -> first starter pod Running.
	go test ./test/realnode/ -run '^$$' -bench . -benchtime 1x -count 3

# Flags of cmd/rotation-bench, e.g. BENCH_SCALE_ARGS="-n 10,20 -sweep-n 10 -idle 10s" for a quick run.
BENCH_SCALE_ARGS ?=

.PHONY: bench-scale
bench-scale: ## Scale benchmark (docs/benchmarks.md): raw client ceiling vs operator provisioning, settings sweep, idle writes, cold restart, grading latency, memory; prints one table.
	@mkdir -p bin
	go build -o bin/rotation-bench ./cmd/rotation-bench
	./bin/rotation-bench -log bin/bench-scale.log $(BENCH_SCALE_ARGS)

.PHONY: verify
verify: manifests generate fmt ## Fail if generated files are out of date.
	git diff --exit-code -- api config

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager binary into bin/.
	go build -o bin/rotation-operator ./cmd/rotation-operator

# run builds in visible steps (the operator used to be a silent `go run`),
# then execs the operator, which stops cleanly on Ctrl-C: make exits 0.
.PHONY: run
run: ## Run the operator: against your kubeconfig, or on an embedded control plane when there is none.
	@echo "make run: generating manifests, building bin/rotation-operator and bin/kubectl-rotation, then starting the operator"
	@$(MAKE) --no-print-directory manifests generate
	@go run ./hack/ensure-tools -go-build-only -go-build bin/rotation-operator=./cmd/rotation-operator -go-build bin/kubectl-rotation=./cmd/kubectl-rotation
	@exec bin/rotation-operator $(ARGS)

PLUGIN_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PLUGIN_LDFLAGS := -s -w -X github.com/handson-dev/rotation-operator/internal/plugin.Version=$(PLUGIN_VERSION)
PLUGIN_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64

.PHONY: plugin
plugin: ## Build the kubectl plugin into bin/kubectl-rotation (put bin/ on PATH, then: kubectl rotation).
	go build -trimpath -ldflags "$(PLUGIN_LDFLAGS)" -o bin/kubectl-rotation ./cmd/kubectl-rotation

.PHONY: test-plugin
test-plugin: ## Test the kubectl plugin: unit tests, and the built binary against a real apiserver.
	go test ./internal/plugin/ ./cmd/kubectl-rotation/ -count=1 -timeout $(TEST_TIMEOUT)

.PHONY: plugin-dist
plugin-dist: ## Release archives of the plugin for every platform and a krew manifest with their sha256, in dist/.
	@rm -rf dist && mkdir -p dist
	@for p in $(PLUGIN_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ "$$os" = windows ] && ext=.exe; \
		dir=dist/kubectl-rotation_$${os}_$${arch}; mkdir -p $$dir; \
		echo "building $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath -ldflags "$(PLUGIN_LDFLAGS)" -o $$dir/kubectl-rotation$$ext ./cmd/kubectl-rotation; \
		cp LICENSE $$dir/ 2>/dev/null || true; \
		tar -C $$dir -czf $$dir.tar.gz $$(ls $$dir); rm -rf $$dir; \
	done
	@sed "s/{{VERSION}}/$(PLUGIN_VERSION)/g" config/krew/rotation.yaml > dist/rotation.yaml
	@for f in dist/*.tar.gz; do \
		n=$$(basename $$f .tar.gz); sum=$$(sha256sum $$f | cut -d' ' -f1); \
		sed -i "s/{{SHA256_$${n#kubectl-rotation_}}}/$$sum/" dist/rotation.yaml; \
	done
	@echo "dist/: $$(ls dist | tr '\n' ' ')"

.PHONY: docker-build
docker-build: ## Build the operator image (needs a Docker engine).
	docker build -t $(IMG) .

# The operator image built without Docker (internal/operatorimage): the same
# files as the Dockerfile's, with terraform from PATH (a static binary).
IMAGE_ARCHIVE ?= bin/rotation-operator-image.tar

.PHONY: image
image: ## Build the operator image without Docker into $(IMAGE_ARCHIVE) as $(IMG), for ctr -n k8s.io images import or docker load.
	go run ./cmd/build-image archive $(IMAGE_ARCHIVE) --ref $(IMG)

.PHONY: image-push
image-push: ## Build the operator image without Docker and push it to $(IMG) (INSECURE=1: plain HTTP).
	go run ./cmd/build-image push $(IMG) $(if $(INSECURE),--insecure)

# The images lab pods run, built from labs/images without Docker (internal/labimages).
LAB_IMAGES_ARCHIVE ?= bin/lab-images.tar
LAB_IMAGES_ARCH ?= $(shell go env GOARCH)

.PHONY: lab-images
lab-images: ## Build the lab images (rotation.local/web:1.0, web:1.1, pause:3.10) into $(LAB_IMAGES_ARCHIVE), for ctr -n k8s.io images import.
	go run ./cmd/lab-images archive $(LAB_IMAGES_ARCHIVE) --arch $(LAB_IMAGES_ARCH)

.PHONY: lab-images-publish
lab-images-publish: ## Push the lab images to $(REGISTRY)/<name>:<tag>, e.g. REGISTRY=registry.example.com/rotation (INSECURE=1: plain HTTP).
	@test -n "$(REGISTRY)" || { echo "usage: make lab-images-publish REGISTRY=registry.example.com/rotation [INSECURE=1]"; exit 2; }
	go run ./cmd/lab-images publish $(REGISTRY) --arch $(LAB_IMAGES_ARCH) $(if $(INSECURE),--insecure)

##@ Deployment

.PHONY: install
install: manifests kustomize ## Install the CRDs, learner/mentor ClusterRoles and admission policy into the current cluster.
	$(KUSTOMIZE) build config/crd | kubectl apply --server-side -f -
	kubectl apply --server-side -f config/rbac/lab_roles.yaml
	$(KUSTOMIZE) build config/policy | kubectl apply --server-side -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Remove the CRDs (and every rotation with them) from the current cluster.
	$(KUSTOMIZE) build config/crd | kubectl delete --ignore-not-found -f -

.PHONY: deploy
deploy: manifests kustomize ## Deploy the operator into the current cluster with image $(IMG).
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default | kubectl apply --server-side -f -

.PHONY: undeploy
undeploy: kustomize ## Remove the operator from the current cluster.
	$(KUSTOMIZE) build config/default | kubectl delete --ignore-not-found -f -

##@ Tool binaries

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into bin/.
$(CONTROLLER_GEN):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/controller-gen $@

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Install kustomize into bin/.
$(KUSTOMIZE):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	mv $(LOCALBIN)/kustomize $@
