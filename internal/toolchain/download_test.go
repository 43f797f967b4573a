package toolchain

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func serve(t *testing.T, body []byte) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	t.Cleanup(s.Close)
	return s
}

// A file whose bytes do not match the pinned checksum is rejected, and
// nothing of it is left in the tool's dir.
func TestDownloadRejectsCorruptedFile(t *testing.T) {
	good := []byte("the real kube-apiserver")
	srv := serve(t, []byte("the real kube-apiserver, tampered"))
	dir := t.TempDir()
	err := download(context.Background(), srv.Client(), []releaseFile{{URL: srv.URL, SHA256: sum(good), Binary: "kube-apiserver"}}, dir, io.Discard)
	if !errors.Is(err, errChecksum) {
		t.Fatalf("download of a corrupted file: err = %v, want a checksum mismatch", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a rejected download left %v in the tool dir", entries)
	}
}

func TestDownloadVerifiesAndExtracts(t *testing.T) {
	binary := []byte("#!/bin/sh\necho etcd\n")
	var archive bytes.Buffer
	gz := gzip.NewWriter(&archive)
	tw := tar.NewWriter(gz)
	for name, body := range map[string][]byte{"etcd-v1/README.md": []byte("readme"), "etcd-v1/etcd": binary} {
		must(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}))
		_, err := tw.Write(body)
		must(t, err)
	}
	must(t, tw.Close())
	must(t, gz.Close())
	tgz, raw := serve(t, archive.Bytes()), serve(t, binary)

	dir := t.TempDir()
	must(t, download(context.Background(), http.DefaultClient, []releaseFile{
		{URL: tgz.URL, SHA256: sum(archive.Bytes()), Member: "etcd-v1/etcd", Binary: "etcd"},
		{URL: raw.URL, SHA256: sum(binary), Binary: "kube-apiserver"},
	}, dir, io.Discard))
	for _, b := range []string{"etcd", "kube-apiserver"} {
		got, err := os.ReadFile(filepath.Join(dir, b))
		must(t, err)
		if !bytes.Equal(got, binary) {
			t.Errorf("%s = %q, want %q", b, got, binary)
		}
		if fi, _ := os.Stat(filepath.Join(dir, b)); fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable: %v", b, fi.Mode())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("tool dir holds %v, want just the two binaries", entries)
	}
}

// Only entries with a pinned checksum are downloaded: the shipped table
// has none yet (see releases), so every tool builds from source, and a
// table with all checksums enables the download.
func TestPinnedReleaseNeedsEveryChecksum(t *testing.T) {
	for _, name := range []string{Kubernetes, Etcd} {
		if files := pinnedRelease(tools[name]); files != nil {
			for _, f := range files {
				if len(f.SHA256) != 64 {
					t.Errorf("%s: %s has checksum %q", name, f.URL, f.SHA256)
				}
			}
		}
	}
	tl := tool{name: "fake", binaries: []string{"a", "b"}}
	saved := releases
	t.Cleanup(func() { releases = saved })
	plat := platform()
	releases = map[string]map[string][]releaseFile{"fake": {plat: {{URL: "u", SHA256: "x", Binary: "a"}, {URL: "u", Binary: "b"}}}}
	if pinnedRelease(tl) != nil {
		t.Error("a release with an unpinned file was accepted")
	}
	releases["fake"][plat][1].SHA256 = "y"
	if len(pinnedRelease(tl)) != 2 {
		t.Error("a fully pinned release was not used")
	}
	releases["fake"][plat] = releases["fake"][plat][:1]
	if pinnedRelease(tl) != nil {
		t.Error("a release lacking binary b was accepted")
	}
}

// fakeTool registers a tool "fake" whose wrapper module is a tiny main
// package in a fake repo, so Ensure's source build takes about a second,
// and serves its release from files. Returns the served bytes' checksum
// helper and the cache root.
func fakeTool(t *testing.T, files func(t *testing.T) []releaseFile) (cache string) {
	t.Helper()
	repo := t.TempDir()
	w := filepath.Join(repo, "hack", "tools", "fake")
	must(t, os.MkdirAll(w, 0o755))
	must(t, os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module "+ModulePath+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(w, "go.mod"), []byte("module example.com/fake\n\ngo 1.22\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(w, "go.sum"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(w, "main.go"), []byte("package main\n\nfunc main() { println(\"built from source\") }\n"), 0o644))
	cache = t.TempDir()
	t.Setenv("ROTATION_REPO_ROOT", repo)
	t.Setenv("ROTATION_CACHE_DIR", cache)
	tools["fake"] = tool{name: "fake", packages: []string{"."}, binaries: []string{"fake"}, coldEstimate: "a second",
		fill: func(p *Paths, dir string) error { p.Etcd = filepath.Join(dir, "fake"); return nil }}
	savedFor, savedClient := releaseFor, releaseClient
	releaseFor = func(tl tool) []releaseFile {
		if tl.name == "fake" {
			return files(t)
		}
		return savedFor(tl)
	}
	releaseClient = downloadClient // the real timeouts
	t.Cleanup(func() { delete(tools, "fake"); releaseFor, releaseClient = savedFor, savedClient })
	return cache
}

// Without a network (here: a server that accepts and never answers, the
// slowest way a download can fail) Ensure gives up on the download in
// under 5 s and builds from source.
func TestEnsureFallsBackToSourceBuildWhenOffline(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	t.Cleanup(hang.CloseClientConnections) // before Close, which waits for handlers
	for _, tc := range []struct{ name, url string }{
		{"no answer", hang.URL + "/fake"},
		{"connection refused", "http://127.0.0.1:1/fake"},
		{"unknown host", "https://release.invalid/fake"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fakeTool(t, func(*testing.T) []releaseFile {
				return []releaseFile{{URL: tc.url, SHA256: strings.Repeat("0", 64), Binary: "fake"}}
			})
			var progress syncBuffer
			start := time.Now()
			_, r, err := EnsureReport(context.Background(), &progress, "fake")
			must(t, err)
			if r.Steps[0].How != HowBuilt {
				t.Fatalf("how = %q, want %q; progress:\n%s", r.Steps[0].How, HowBuilt, progress.String())
			}
			out := progress.String()
			i := strings.Index(out, "building from source instead")
			if i < 0 {
				t.Fatalf("no fallback note in progress:\n%s", out)
			}
			decided := decidedAfter(t, out)
			t.Logf("%s: download given up after %s, whole Ensure (with the source build) %s", tc.name, decided, time.Since(start).Round(10*time.Millisecond))
			if decided >= 5*time.Second {
				t.Errorf("the fallback took %s, want under 5 s", decided)
			}
		})
	}
}

// A corrupted download is never installed: Ensure builds from source and
// the tool dir holds the built binary, not the served bytes.
func TestEnsureRejectsCorruptedDownloadAndBuilds(t *testing.T) {
	served := []byte("#!/bin/sh\necho tampered\n")
	srv := serve(t, served)
	cache := fakeTool(t, func(*testing.T) []releaseFile {
		return []releaseFile{{URL: srv.URL, SHA256: sum([]byte("#!/bin/sh\necho genuine\n")), Binary: "fake"}}
	})
	var progress syncBuffer
	p, r, err := EnsureReport(context.Background(), &progress, "fake")
	must(t, err)
	if r.Steps[0].How != HowBuilt || !strings.Contains(progress.String(), "checksum mismatch") {
		t.Fatalf("how = %q; progress:\n%s", r.Steps[0].How, progress.String())
	}
	got, err := os.ReadFile(p.Etcd)
	must(t, err)
	if bytes.Equal(got, served) || !strings.HasPrefix(p.Etcd, cache) {
		t.Fatalf("the corrupted download was installed at %s", p.Etcd)
	}

	// And a verified download is installed as is, without a build.
	good := []byte("#!/bin/sh\necho genuine\n")
	srv2 := serve(t, good)
	fakeTool(t, func(*testing.T) []releaseFile {
		return []releaseFile{{URL: srv2.URL, SHA256: sum(good), Binary: "fake"}}
	})
	p, r, err = EnsureReport(context.Background(), nil, "fake")
	must(t, err)
	if got, _ := os.ReadFile(p.Etcd); r.Steps[0].How != HowDownloaded || !bytes.Equal(got, good) {
		t.Fatalf("how = %q, binary %q", r.Steps[0].How, got)
	}
}

// decidedAfter reads the "failed after D" of the fallback note.
func decidedAfter(t *testing.T, progress string) time.Duration {
	t.Helper()
	_, rest, _ := strings.Cut(progress, "failed after ")
	d, err := time.ParseDuration(strings.Fields(rest)[0])
	if err != nil {
		t.Fatalf("no duration in the fallback note: %v\n%s", err, progress)
	}
	return d
}

// syncBuffer is a bytes.Buffer safe for Ensure's concurrent progress.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// One tool failing neither cancels nor hides the others: their paths are
// filled in, and the report marks only the failed one.
func TestEnsureReportKeepsOtherToolsOnFailure(t *testing.T) {
	fakeTool(t, func(*testing.T) []releaseFile { return nil })
	tools["broken"] = tool{name: "broken", packages: []string{"."}, binaries: []string{"broken"}}
	t.Cleanup(func() { delete(tools, "broken") })
	p, r, err := EnsureReport(context.Background(), nil, "broken", "fake")
	if err == nil {
		t.Fatal("a tool without a wrapper module was obtained")
	}
	if p.Etcd == "" || r.Steps[0].How != "failed" || r.Steps[1].How != HowBuilt {
		t.Fatalf("paths %+v, steps %+v", p, r.Steps)
	}
}
