package docker

import (
	"strings"
	"testing"
)

func TestDockerfileErrorsAreFacts(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"nothing submitted", nil, "no Dockerfile was submitted"},
		{"wrong name", map[string]string{"dockerfile": "FROM x:1\n"}, "must be named Dockerfile"},
		{"unknown instruction", map[string]string{DockerfileName: "FROM alpine:3.20\nFORM x\n"}, "line 2"},
		{"empty", map[string]string{DockerfileName: "# nothing\n"}, "no instructions"},
		{"no FROM", map[string]string{DockerfileName: "RUN true\n"}, "FROM"},
		{"too large", map[string]string{DockerfileName: "FROM a:1\n" + strings.Repeat("# x\n", MaxDockerfileSize/4)}, "limit"},
		{"too many instructions", map[string]string{DockerfileName: "FROM a:1\n" + strings.Repeat("RUN true\n", MaxInstructions)}, "over the limit"},
		{"bad flag", map[string]string{DockerfileName: "FROM alpine:3.20\nCOPY --frm=x a b\n"}, "line 2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := DockerfileFacts(tt.files)
			e := f["error"].(string)
			if !strings.Contains(e, tt.want) {
				t.Errorf("error %q, want it to mention %q", e, tt.want)
			}
			if len(f["stages"].([]any)) != 0 || len(f["violated"].(map[string]any)) != 0 {
				t.Errorf("facts of a Dockerfile that did not parse: %v", f)
			}
		})
	}
}

func TestDockerfileFactsInheritThroughStages(t *testing.T) {
	f := DockerfileFacts(map[string]string{DockerfileName: `FROM node:22-alpine AS base
USER 1000
EXPOSE 3000
LABEL a=1
ENTRYPOINT ["node"]
CMD ["server.js"]

FROM base AS final
LABEL b=2
ENTRYPOINT ["node", "--enable-source-maps"]
COPY --chown=1000 server.js ./
`, "server.js": "x"})
	if f["error"] != "" {
		t.Fatal(f["error"])
	}
	if f["user"] != "1000" || f["baseImage"] != "node:22-alpine" || f["multiStage"] != true {
		t.Errorf("user %v base %v multiStage %v", f["user"], f["baseImage"], f["multiStage"])
	}
	if l := f["labels"].(map[string]any); l["a"] != "1" || l["b"] != "2" {
		t.Errorf("labels %v", l)
	}
	// ENTRYPOINT in the final stage resets the CMD it inherited, as docker build does.
	if c := f["cmd"].(map[string]any); c["set"] != false {
		t.Errorf("cmd %v", c)
	}
	final := f["finalStage"].(map[string]any)
	if final["baseStage"] != "base" || final["pinned"] != true || final["name"] != "final" {
		t.Errorf("final %v", final)
	}
	cp := final["copies"].([]any)[0].(map[string]any)
	if cp["chown"] != "1000" || cp["dest"] != "./" {
		t.Errorf("copy %v", cp)
	}
}

func TestSplitShell(t *testing.T) {
	s := splitShell(`set -eux; apt-get update && apt-get install -y "a b" c=1 \
  && echo 'x | y' | grep x || true # a | comment
cd /tmp`)
	if !s.pipe {
		t.Error("no pipe found")
	}
	var progs []string
	for _, c := range s.commands {
		p, _, _ := program(c)
		progs = append(progs, p)
	}
	if got := strings.Join(progs, ","); got != "set,apt-get,apt-get,echo,grep,true,cd" {
		t.Errorf("programs %s", got)
	}
	if s.commands[2][3] != "a b" {
		t.Errorf("quoted word %q", s.commands[2][3])
	}
	ins, update := aptInstalls(s)
	if !update || len(ins) != 1 || strings.Join(ins[0].packages, ",") != "a b,c=1" {
		t.Errorf("apt %v %v", ins, update)
	}
}

func TestFindingsTruncatedButViolatedComplete(t *testing.T) {
	df := "FROM golang:1.26 AS build\n" + strings.Repeat("WORKDIR relative\n", MaxFindings+50) +
		"FROM gcr.io/distroless/static-debian12:nonroot\nCOPY --from=build /a /a\nHEALTHCHECK NONE\nUSER root\n"
	f := DockerfileFacts(map[string]string{DockerfileName: df})
	if f["error"] != "" {
		t.Fatal(f["error"])
	}
	if n := len(f["findings"].([]any)); n != MaxFindings || f["findingsTruncated"] != true {
		t.Errorf("%d findings, truncated %v", n, f["findingsTruncated"])
	}
	v := f["violated"].(map[string]any)
	if v["DL3000"] != true || v["DL3002"] != true {
		t.Errorf("violated %v: the USER root past the cut is lost", v)
	}
	if c := f["counts"].(map[string]any); c[SeverityError] != int64(MaxFindings+50) || c[SeverityWarning] != int64(1) {
		t.Errorf("counts %v", c)
	}
}

func TestWithDockerfile(t *testing.T) {
	lab := map[string]any{FactDockerfile: DockerfileFacts(nil), FactImages: map[string]any{"web": 1}}
	ex := WithDockerfile(lab, submit(goodDockerfile, goodContext))
	if ex[FactDockerfile].(map[string]any)["present"] != true || ex[FactImages].(map[string]any)["web"] != 1 {
		t.Errorf("exercise facts %v", ex)
	}
	if lab[FactDockerfile].(map[string]any)["present"] != false {
		t.Error("the lab's facts changed")
	}
}
