package docker

import (
	"slices"
	"sort"
	"strings"
	"testing"
)

// goodDockerfile follows every rule: a pinned multi-stage build of a Go
// app into distroless, numeric non-root user, JSON CMD, HEALTHCHECK.
const goodDockerfile = `# syntax=docker/dockerfile:1
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod main.go ./
RUN CGO_ENABLED=0 go build -o /out/hello .

FROM debian:bookworm-slim AS tools
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8 \
 && curl -fsSL https://example.com/x | tar -xz -C /opt \
 && rm -rf /var/lib/apt/lists/*

FROM gcr.io/distroless/static-debian12:nonroot@sha256:6ec5aa99dc335666e79dc64e4a6c8b89c33a543a1967f20d360922a80dd21f02
LABEL org.opencontainers.image.source="https://example.com/hello"
COPY --from=build /out/hello /hello
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=3s CMD ["/hello", "-health"]
ENTRYPOINT ["/hello"]
CMD ["-addr", ":8080"]
`

var goodContext = map[string]string{"go.mod": "module hello\n", "main.go": "package main\n"}

func submit(dockerfile string, context map[string]string) map[string]string {
	files := map[string]string{DockerfileName: dockerfile}
	for k, v := range context {
		files[k] = v
	}
	return files
}

func violatedRules(t *testing.T, facts map[string]any) []string {
	t.Helper()
	if e := facts["error"].(string); e != "" {
		t.Fatalf("error: %s", e)
	}
	var ids []string
	for id := range facts["violated"].(map[string]any) {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func TestGoodDockerfilePassesEveryRule(t *testing.T) {
	facts := DockerfileFacts(submit(goodDockerfile, goodContext))
	if got := violatedRules(t, facts); len(got) != 0 {
		t.Errorf("violated %v:\n%v", got, facts["findings"])
	}
	if facts["multiStage"] != true || facts["stageCount"] != int64(3) || facts["user"] != "65532:65532" ||
		facts["runsAsRoot"] != false || facts["numericUser"] != true {
		t.Errorf("facts %v", facts)
	}
	if h := facts["healthcheck"].(map[string]any); h["present"] != true || h["interval"] != "30s" {
		t.Errorf("healthcheck %v", h)
	}
	if c := facts["cmd"].(map[string]any); c["form"] != "exec" || !slices.Equal(c["args"].([]any), []any{"-addr", ":8080"}) {
		t.Errorf("cmd %v", c)
	}
	if e := facts["entrypoint"].(map[string]any); e["form"] != "exec" {
		t.Errorf("entrypoint %v", e)
	}
	if !slices.Equal(facts["expose"].([]any), []any{"8080/tcp"}) {
		t.Errorf("expose %v", facts["expose"])
	}
	if !strings.HasPrefix(facts["baseImage"].(string), "gcr.io/distroless/static-debian12:nonroot@sha256:") {
		t.Errorf("baseImage %v", facts["baseImage"])
	}
	final := facts["finalStage"].(map[string]any)
	if final["pinnedByDigest"] != true || final["tag"] != "nonroot" || final["repository"] != "gcr.io/distroless/static-debian12" {
		t.Errorf("final stage %v", final)
	}
	build := facts["stages"].([]any)[0].(map[string]any)
	if build["name"] != "build" || build["tag"] != "1.26-alpine" || build["pinned"] != true || build["line"] != int64(2) {
		t.Errorf("build stage %v", build)
	}
}

// goodDebian installs packages in the final stage, the right way.
const goodDebian = `FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod main.go ./
RUN CGO_ENABLED=0 go build -o /out/hello .

FROM debian:bookworm-slim
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates=20230311 curl=7.88.1-10+deb12u8 \
 && curl -fsSL https://example.com/x | tar -xz -C /opt \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/hello /usr/local/bin/hello
USER 10001
HEALTHCHECK CMD ["hello", "-health"]
CMD ["hello"]
`

// TestRules makes each rule fail on its own: every case changes a good
// Dockerfile in one way and must violate exactly the listed rules, the
// first at the given line with a message that says why.
func TestRules(t *testing.T) {
	edit := func(base, old, replacement string) string {
		t.Helper()
		if !strings.Contains(base, old) {
			t.Fatalf("%q is not in the Dockerfile", old)
		}
		return strings.Replace(base, old, replacement, 1)
	}
	g := goodDockerfile
	replace := func(old, replacement string) string { return edit(g, old, replacement) }
	deb := func(old, replacement string) string { return edit(goodDebian, old, replacement) }
	singleStage := "FROM golang:1.26-alpine\nWORKDIR /src\nCOPY go.mod main.go ./\nRUN go build -o /hello .\nUSER 10001\nHEALTHCHECK CMD [\"/hello\", \"-health\"]\nCMD [\"/hello\"]\n"
	withFinal := replace("nonroot@sha256:6ec5aa99dc335666e79dc64e4a6c8b89c33a543a1967f20d360922a80dd21f02", "nonroot@sha256:6ec5aa99dc335666e79dc64e4a6c8b89c33a543a1967f20d360922a80dd21f02 AS final")
	tests := []struct {
		name       string
		dockerfile string
		context    map[string]string // nil: goodContext
		want       []string          // rule ids violated
		line       int               // of the first finding
		contains   string            // in its message
	}{
		{"good debian", goodDebian, nil, nil, 0, ""},
		{"untagged base", replace("FROM golang:1.26-alpine AS build", "FROM golang AS build"), nil, []string{"DL3006"}, 2, "FROM golang has no tag"},
		{"untagged base through an ARG", "ARG BASE=golang\n" + replace("FROM golang:1.26-alpine AS build", "FROM ${BASE} AS build"), nil, []string{"DL3006"}, 3, "FROM golang has no tag"},
		{"latest", replace("FROM golang:1.26-alpine AS build", "FROM golang:latest AS build"), nil, []string{"DL3007"}, 2, "latest"},
		{"last USER root", replace("USER 65532:65532", "USER root"), nil, []string{"DL3002"}, 17, "USER is root"},
		{"last USER 0", replace("USER 65532:65532", "USER 0:0"), nil, []string{"DL3002"}, 17, "runs as root"},
		{"no USER on a root base", deb("USER 10001\n", ""), nil, []string{"DL3002"}, 6, "sets no USER"},
		{"no USER on a nonroot base", replace("USER 65532:65532\n", ""), nil, nil, 0, ""},
		{"USER in a build stage only", edit(deb("USER 10001\n", ""), "WORKDIR /src\n", "WORKDIR /src\nUSER 10001\n"), nil, []string{"DL3002"}, 7, "sets no USER"},
		{"named USER", replace("USER 65532:65532", "USER app"), nil, []string{"RO002"}, 17, "numeric UID"},
		{"apt package not pinned", deb("curl=7.88.1-10+deb12u8", "curl"), nil, []string{"DL3008"}, 8, "install curl"},
		{"apt lists kept", deb(" \\\n && rm -rf /var/lib/apt/lists/*", ""), nil, []string{"DL3009"}, 8, "rm -rf /var/lib/apt/lists"},
		{"apt lists kept in a build stage", replace(" \\\n && rm -rf /var/lib/apt/lists/*", ""), nil, nil, 0, ""},
		{"apt recommends", deb("-y --no-install-recommends", "-y"), nil, []string{"DL3015"}, 8, "--no-install-recommends"},
		{"ADD for local files", replace("COPY --from=build /out/hello /hello", "COPY --from=build /out/hello /hello\nADD main.go /src/"), nil, []string{"DL3020"}, 16, "use COPY"},
		{"ADD of a URL", replace("COPY --from=build /out/hello /hello", "COPY --from=build /out/hello /hello\nADD https://example.com/a.txt /a.txt"), nil, nil, 0, ""},
		{"CMD in shell form", replace(`CMD ["-addr", ":8080"]`, "CMD /hello -addr :8080"), nil, []string{"DL3025"}, 20, "CMD in shell form"},
		{"ENTRYPOINT in shell form", replace(`ENTRYPOINT ["/hello"]`, "ENTRYPOINT /hello"), nil, []string{"DL3025"}, 19, "ENTRYPOINT in shell form"},
		{"pipe without pipefail", deb("SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n", ""), nil, []string{"DL4006"}, 7, "pipefail"},
		{"pipefail set in the RUN", deb("SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nRUN ", "RUN set -eo pipefail; "), nil, nil, 0, ""},
		{"|| and a quoted | are no pipes", deb("SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n", "RUN true || echo 'a | b'\n"), nil, []string{"DL4006"}, 8, "pipe"},
		{"single stage", singleStage, nil, []string{"RO001"}, 1, "single-stage build"},
		{"cd in RUN", replace("RUN CGO_ENABLED=0 go build", "RUN cd /src && CGO_ENABLED=0 go build"), nil, []string{"DL3003"}, 5, "WORKDIR"},
		{"sudo", replace("RUN CGO_ENABLED=0 go build", "RUN sudo -E CGO_ENABLED=0 go build"), nil, []string{"DL3004"}, 5, "sudo"},
		{"relative WORKDIR", replace("WORKDIR /src", "WORKDIR src"), nil, []string{"DL3000"}, 3, "relative"},
		{"MAINTAINER", replace("LABEL org", "MAINTAINER me\nLABEL org"), nil, []string{"DL4000"}, 14, "deprecated"},
		{"two CMDs", replace(`CMD ["-addr", ":8080"]`, "CMD [\"a\"]\nCMD [\"b\"]"), nil, []string{"DL4003"}, 21, "2 CMD"},
		{"two ENTRYPOINTs", replace(`ENTRYPOINT ["/hello"]`, "ENTRYPOINT [\"/a\"]\nENTRYPOINT [\"/hello\"]"), nil, []string{"DL4004"}, 20, "2 ENTRYPOINT"},
		{"no HEALTHCHECK", replace("HEALTHCHECK --interval=30s --timeout=3s CMD [\"/hello\", \"-health\"]\n", ""), nil, []string{"DL3057"}, 13, "HEALTHCHECK"},
		{"HEALTHCHECK NONE", replace("HEALTHCHECK --interval=30s --timeout=3s CMD [\"/hello\", \"-health\"]", "HEALTHCHECK NONE"), nil, nil, 0, ""},
		{"missing context file", g, map[string]string{"go.mod": "x"}, []string{"RO003"}, 4, "COPY main.go"},
		{"globs match the context", replace("COPY go.mod main.go ./", "COPY *.go go.* ./"), nil, nil, 0, ""},
		{"duplicate stage names", replace("AS tools", "AS build"), nil, []string{"DL3024"}, 7, "already used"},
		{"COPY --from its own stage", edit(withFinal, "COPY --from=build /out/hello /hello", "COPY --from=build /out/hello /hello\nCOPY --from=final /x /x"), nil, []string{"DL3023"}, 16, "own stage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.context
			if ctx == nil {
				ctx = goodContext
			}
			facts := DockerfileFacts(submit(tt.dockerfile, ctx))
			got := violatedRules(t, facts)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("violated %v, want %v\nfindings: %v", got, tt.want, facts["findings"])
			}
			if len(tt.want) == 0 {
				return
			}
			first := facts["findings"].([]any)[0].(map[string]any)
			if first["line"] != int64(tt.line) || !strings.Contains(first["message"].(string), tt.contains) ||
				!strings.HasPrefix(first["message"].(string), tt.want[0]+": ") || first["severity"] != rulesByID[tt.want[0]].Severity {
				t.Errorf("first finding %v, want line %d with %q", first, tt.line, tt.contains)
			}
		})
	}
}
