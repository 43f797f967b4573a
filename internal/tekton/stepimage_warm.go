package tekton

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// warmupFiles are a small Go module importing exactly the standard
// packages the lab's Go app may import (fmt, io, log, net/http,
// net/http/httptest, os, strings, testing, encoding/json, time): building,
// testing and vetting it fills a build cache with all of them, so a
// learner's first `go test` in a step compiles only their own code.
var warmupFiles = map[string]string{
	"go.mod": "module warmup\n\ngo 1.22\n",
	"main.go": `package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"time"
)

func handler(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"echo": strings.ToUpper(string(body)), "at": time.Now().Format(time.RFC3339)})
}

func main() {
	addr := ":" + os.Getenv("PORT")
	fmt.Println("listening on", addr)
	log.Fatal(http.ListenAndServe(addr, http.HandlerFunc(handler)))
}
`,
	"main_test.go": `package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(handler))
	defer srv.Close()
	resp, err := http.Post(srv.URL, "text/plain", strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var got map[string]string
	if err := json.Unmarshal(b, &got); err != nil || got["echo"] != "HI" {
		t.Fatalf("response %s: %v", b, err)
	}
}
`,
}

// warmupCommands are run in order on the warm-up module: what pipeline
// steps run on the app (go test also compiles the test main and runs vet's
// test subset; go vet its full set).
var warmupCommands = [][]string{
	{"build", "-o", "app", "."},
	{"test", "./..."},
	{"vet", "./..."},
}

// warm is warmCache; unit tests of the image's layout replace it.
var warm = warmCache

// warmCache fills the empty build cache gocache with goroot's go on the
// warm-up module (written to src), in the step image's environment: the
// same GOROOT path, GOOS/GOARCH and CGO_ENABLED make the same cache keys.
func warmCache(ctx context.Context, goroot, gocache, src string) error {
	if err := os.MkdirAll(src, 0o750); err != nil {
		return err
	}
	for name, body := range warmupFiles {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o600); err != nil {
			return err
		}
	}
	home := filepath.Join(src, ".home")
	env := []string{
		"GOCACHE=" + gocache,
		"HOME=" + home,
		"GOPATH=" + filepath.Join(home, "go"),
		"PATH=" + filepath.Join(goroot, "bin") + ":/usr/bin:/bin",
		"GOOS=linux",
		"GOARCH=" + runtime.GOARCH,
		"GOENV=off",
		"GOWORK=off",
	}
	for _, kv := range StepEnv {
		if k, _, _ := strings.Cut(kv, "="); k != "PATH" && k != "HOME" && k != "GOCACHE" {
			env = append(env, kv)
		}
	}
	for _, args := range warmupCommands {
		cmd := exec.CommandContext(ctx, filepath.Join(goroot, "bin", "go"), args...) //nolint:gosec // G204: the GOROOT's own go, fixed arguments
		cmd.Dir, cmd.Env = src, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("warming the build cache: go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}
