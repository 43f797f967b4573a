package docker

import (
	"strings"
	"testing"
)

// FuzzDockerfileFacts feeds arbitrary Dockerfiles (and one context file
// name) to the Dockerfile fact collector: it must never panic, always
// return the documented shape, stay within its bounds, and only report
// rules of the rule set with a line inside the file.
//
// Go's minimization of each new interesting input (-fuzzminimizetime, 60s
// by default) stalls the exec counter for long stretches; a small budget
// keeps it fuzzing (about 1,000 execs/s on one worker):
//
//	go test ./internal/grading/facts/docker -run '^$' -fuzz FuzzDockerfileFacts -fuzztime 60s -fuzzminimizetime 100x
func FuzzDockerfileFacts(f *testing.F) {
	seeds := []string{
		goodDockerfile,
		goodDebian,
		"FROM scratch\nCOPY hello /\nUSER 1\nCMD [\"/hello\"]\n",
		"ARG BASE=alpine\nARG TAG\nFROM ${BASE}:${TAG}\nRUN echo $((1+1)) | cat\n",
		"FROM a AS x\nFROM x AS x\nCOPY --from=x a b\nCOPY --from=0 a b\nCOPY --from=9 a b\n",
		"FROM alpine:3.20\nRUN <<EOF\napt-get install -y curl | tee\nEOF\nCOPY <<EOT /a\nhi\nEOT\n",
		"# syntax=docker/dockerfile:1\n# escape=`\nFROM mcr.microsoft.com/windows:ltsc2022\nSHELL [\"powershell\", \"-c\"]\nRUN a | b\nWORKDIR c:\\\\x\n",
		"FROM alpine@sha256:0000\nHEALTHCHECK --interval=bad CMD true\nEXPOSE 80/udp 8080\nUSER root:root\n",
		"FROM alpine:3.20\nONBUILD RUN x\nSTOPSIGNAL SIGTERM\nVOLUME /v\nMAINTAINER a\nCMD a\nCMD b\nENTRYPOINT a\nENTRYPOINT b\n",
		"FROM --platform=$BUILDPLATFORM golang:1.26 AS b\nRUN --mount=type=cache,target=/var/lib/apt/lists apt-get update\nFROM b\n",
		"FROM a:1\nRUN 'unterminated \\\n \"quote\n",
		"FROM \nRUN\n",
		"\xef\xbb\xbfFROM a:1\r\nRUN x\r\n",
	}
	for _, s := range seeds {
		f.Add(s, "main.go")
	}
	f.Fuzz(func(t *testing.T, dockerfile, contextFile string) {
		if len(dockerfile) > 64<<10 {
			return // the size limit has its own test; keep execs fast
		}
		files := map[string]string{DockerfileName: dockerfile}
		if contextFile != "" && contextFile != DockerfileName {
			files[contextFile] = "x"
		}
		facts := DockerfileFacts(files)
		for _, k := range []string{"present", "error", "contextFiles", "stages", "stageCount", "multiStage", "findings", "violated"} {
			if _, ok := facts[k]; !ok {
				t.Fatalf("no %s in %v", k, facts)
			}
		}
		if facts["present"] != true {
			t.Fatal("a submitted Dockerfile is not present")
		}
		if facts["error"] != "" {
			if len(facts["stages"].([]any)) != 0 {
				t.Fatal("stages despite an error")
			}
			return
		}
		stages := facts["stages"].([]any)
		if len(stages) == 0 || facts["stageCount"] != int64(len(stages)) {
			t.Fatalf("%d stages, stageCount %v", len(stages), facts["stageCount"])
		}
		lines := int64(strings.Count(dockerfile, "\n") + strings.Count(dockerfile, "\r") + 1)
		findings := facts["findings"].([]any)
		if len(findings) > MaxFindings {
			t.Fatalf("%d findings", len(findings))
		}
		violated := facts["violated"].(map[string]any)
		for _, x := range findings {
			fd := x.(map[string]any)
			id := fd["rule"].(string)
			r, ok := rulesByID[id]
			if !ok {
				t.Fatalf("finding of unknown rule %q", id)
			}
			if fd["severity"] != r.Severity || violated[id] != true {
				t.Fatalf("finding %v: severity or violated wrong", fd)
			}
			if l := fd["line"].(int64); l < 0 || l > lines {
				t.Fatalf("finding %v: line outside the %d-line file", fd, lines)
			}
			if !strings.HasPrefix(fd["message"].(string), id+": ") {
				t.Fatalf("message %q does not start with its rule id", fd["message"])
			}
		}
		listed := map[string]bool{}
		for _, x := range findings {
			listed[x.(map[string]any)["rule"].(string)] = true
		}
		for id := range violated {
			if _, ok := rulesByID[id]; !ok {
				t.Fatalf("violated unknown rule %q", id)
			}
			if !listed[id] && facts["findingsTruncated"] != true {
				t.Fatalf("rule %s violated without a finding", id)
			}
		}
		for _, k := range []string{"user", "baseImage", "workdir"} {
			if _, ok := facts[k].(string); !ok {
				t.Fatalf("%s is %T", k, facts[k])
			}
		}
	})
}
