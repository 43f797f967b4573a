# rotation-operator Makefile (kubebuilder layout). `make help` lists the targets.

IMG ?= ghcr.io/handson-dev/rotation-operator:latest
CONTROLLER_TOOLS_VERSION ?= v0.23.0
# The kustomize release on sigs.k8s.io/kustomize/api v0.21.1, the one go.mod
# requires (the chart's tests build config/ with it);
# v5.8.3 needs Go 1.27.
KUSTOMIZE_VERSION ?= v5.8.1

LOCALBIN ?= $(shell pwd)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
# Test timeout: the first run builds the control plane from source (~12 min cold).
TEST_TIMEOUT ?= 40m
# Unit tests start no control plane and build nothing but themselves.
UNIT_TEST_TIMEOUT ?= 10m
# Test categories: hack/testpkgs puts every package with tests into exactly
# one, from what its test binary links (internal/localcluster or envtest:
# integration; test/...: e2e; else unit). Its own test checks that. The
# list is assigned first so that a failing classification fails the target.
go-test-category = pkgs=$$(go run ./hack/testpkgs $(1)); go test $$pkgs -count=1 -timeout $(2)
# Packages make lint checks, e.g. LINT_PKGS="./api/... ./cmd/...".
LINT_PKGS ?= ./...

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
tools: ## Build (once) and cache the control plane (kube-apiserver, etcd, kube-controller-manager, kube-scheduler, kwok), the Terraform provider mirror, and the learner's CLIs the machine lacks (helm, crane, tkn; OpenTofu if there is no terraform or tofu). golangci-lint is built by make lint.
	@echo "make tools: each component is downloaded or built once, then cached in ~/.cache/rotation-operator/tools"
	go run ./hack/ensure-tools -learner kubernetes etcd kwok terraform-provider-kubernetes

.PHONY: test
test: vet test-unit test-integration test-e2e lint ## Run every test (unit, integration, e2e) and the linter: the one test command, as in .ci/run.

.PHONY: test-unit
test-unit: manifests generate ## Unit tests: packages whose tests start no control plane, with the fuzz targets' seed corpora.
	$(call go-test-category,unit,$(UNIT_TEST_TIMEOUT))

.PHONY: test-integration
test-integration: manifests generate ## Integration tests: packages whose tests start a real kube-apiserver and etcd (built on first use).
	$(call go-test-category,integration,$(TEST_TIMEOUT))

.PHONY: test-e2e
test-e2e: manifests generate ## End-to-end suites under test/: journeys, faults, bad input, the real node.
	$(call go-test-category,e2e,$(TEST_TIMEOUT))

.PHONY: lint
lint: ## Run golangci-lint (.golangci.yml; built once into the tool cache) on LINT_PKGS (default ./...).
	@lint=$$(go run ./hack/ensure-tools golangci-lint | sed -n 's/^golangci-lint=//p'); \
	test -x "$$lint" || { echo "lint: no golangci-lint from hack/ensure-tools"; exit 1; }; \
	echo "$$lint run $(LINT_PKGS)"; "$$lint" run $(LINT_PKGS)

# Fuzz targets over everything the operator parses from learner- or
# author-written data, as package:Target. Each runs for FUZZTIME; go test
# runs one -fuzz target per invocation. A small minimize budget keeps slow
# inputs (a whole Helm release) from stalling a short run. make test runs
# only their seed corpora, as unit tests: timed fuzzing is make fuzz alone.
FUZZTIME ?= 10s
FUZZMINIMIZETIME ?= 200x
FUZZ_TARGETS = \
	./internal/grading:FuzzCompileAndEvaluate \
	./internal/grading/facts/helm:FuzzDecodeRelease \
	./internal/grading/facts/kube:FuzzNormalize \
	./internal/submission:FuzzFromConfigMap \
	./internal/submission:FuzzDigest \
	./internal/lab:FuzzValidateStarter \
	./internal/jsontree:FuzzWalker

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

# Flags of cmd/rotation-bench. The default is the full run of issue 19
# (about 40 minutes on 2 cores), every row of its table in one run:
# BenchmarkGradeVsBareTerraform, the real node's lab apply -> first starter
# Running (waits for the machine-wide node lock), raw ceilings at 50, 200 and
# 1,000 labs, the settings sweep at 50, the scale phase at 200 and 1,000.
# Quick variant (about 20 minutes, every row of issue 19 but no sweep):
#   BENCH_SCALE_ARGS="-phases terraform,node,raw,scale -n 200,1000 -scale-n 200,1000 -workers 16 -qps -1 -idle 10s"
# smoke run (a few minutes, operator rows only):
#   BENCH_SCALE_ARGS="-phases raw,sweep,scale -n 10,20 -sweep-n 10 -workers 4,16 -mcr 8 -qps -1 -idle 10s"
BENCH_SCALE_ARGS ?= -n 50,200,1000 -scale-n 200,1000 -workers 4,16,32

.PHONY: bench-scale
bench-scale: ## Issue 19's table in one run (docs/benchmarks.md): Terraform grading vs bare terraform, real-node lab start, raw client ceiling vs operator provisioning, settings sweep, idle writes, cold restart, grading latency, memory.
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

# Tekton Pipelines v1.15.0, the cicd track's CI/CD engine, offline (cmd/tekton-release).
TEKTON_RELEASE ?= bin/tekton-release.yaml
TEKTON_IMAGES_ARCHIVE ?= bin/tekton-images.tar

.PHONY: tekton-release
tekton-release: ## Build Tekton Pipelines v1.15.0 offline (about 10 min the first time): the release into $(TEKTON_RELEASE), its images and the step image into $(TEKTON_IMAGES_ARCHIVE) for ctr -n k8s.io images import; with REGISTRY=registry.example.com/rotation also pushed there and named there (INSECURE=1: plain HTTP).
	go run ./cmd/tekton-release $(TEKTON_RELEASE) --archive $(TEKTON_IMAGES_ARCHIVE) $(if $(REGISTRY),--registry $(REGISTRY)) $(if $(INSECURE),--insecure)

##@ Deployment

.PHONY: install
install: manifests kustomize ## Install the CRDs, learner/mentor ClusterRoles and admission policy into the current cluster.
	$(KUSTOMIZE) build config/crd | kubectl apply --server-side -f -
	kubectl apply --server-side -f config/rbac/lab_roles.yaml
	$(KUSTOMIZE) build config/policy | kubectl apply --server-side -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Remove the CRDs (and every rotation with them) from the current cluster.
	$(KUSTOMIZE) build config/crd | kubectl delete --ignore-not-found -f -

# The lab registry's address (config/registry), as kubelets and learners
# reach it: by default the first node's InternalIP at the registry's NodePort.
REGISTRY_NODEPORT ?= 30500
REGISTRY_HOST ?= $(shell kubectl get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}'):$(REGISTRY_NODEPORT)
# config/registry's placeholder for REGISTRY_HOST.
REGISTRY_PLACEHOLDER := registry.invalid:30500

# make deploy sets the image in an overlay of config/default made for the
# run (kustomize needs it inside the tree: a relative base), so tracked
# files stay as they are.
.PHONY: deploy
deploy: manifests kustomize ## Deploy the operator and the lab registry with image $(IMG) and registry address $(REGISTRY_HOST).
	overlay=$$(mktemp -d config/deploy.XXXXXX) && trap 'rm -rf "$$overlay"' EXIT && \
	printf 'resources:\n- ../default\n' >"$$overlay/kustomization.yaml" && \
	(cd "$$overlay" && $(KUSTOMIZE) edit set image ghcr.io/handson-dev/rotation-operator=$(IMG)) && \
	$(KUSTOMIZE) build "$$overlay" | sed 's|$(REGISTRY_PLACEHOLDER)|$(REGISTRY_HOST)|g' | kubectl apply --server-side -f -

.PHONY: undeploy
undeploy: kustomize ## Remove the operator, the registry (with its images) and the CRDs (with every rotation).
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
# The module cache comes first: offline, it serves kustomize's modules once
# fetched (by this target, or by any build of the same version).
$(KUSTOMIZE):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) GOPROXY="file://$$(go env GOMODCACHE)/cache/download,$$(go env GOPROXY)" go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	mv $(LOCALBIN)/kustomize $@
