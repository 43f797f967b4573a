package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// startServer runs a registry on loopback for one test.
func startServer(t testing.TB, prefix string) *Server {
	t.Helper()
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Dir: t.TempDir(), Key: key, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

// noRetry makes a refused request fail at once.
var noRetry = remote.WithRetryBackoff(remote.Backoff{Steps: 1})

func labAuth(s *Server, ns string) remote.Option {
	return remote.WithAuth(s.Config().Authenticator(ns))
}

func ref(t testing.TB, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func randomImage(t testing.TB) v1.Image {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// statusOf returns the HTTP status of a registry error, 0 if none.
func statusOf(err error) int {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode
	}
	return 0
}

func TestLabPushesAndPullsItsOwnImage(t *testing.T) {
	s := startServer(t, "")
	cfg := s.Config()
	img := randomImage(t)
	r := ref(t, cfg.Repository("lab-alice", "web")+":v1")
	if err := remote.Write(r, img, labAuth(s, "lab-alice"), noRetry); err != nil {
		t.Fatalf("push with the lab's credentials: %v", err)
	}
	got, err := remote.Image(r, labAuth(s, "lab-alice"), noRetry)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Errorf("pulled %s, pushed %s", d, want)
	}
	tags, err := remote.List(r.Context(), labAuth(s, "lab-alice"), noRetry)
	if err != nil || !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("tags %v, %v", tags, err)
	}
	// Nested repositories under the lab are the lab's too.
	if err := remote.Write(ref(t, cfg.Repository("lab-alice", "team/api")+":v1"), img, labAuth(s, "lab-alice"), noRetry); err != nil {
		t.Errorf("push to a nested repository: %v", err)
	}
	// Stored on disk, in distribution's layout.
	if _, err := os.Stat(filepath.Join(s.opts.Dir, "docker/registry/v2/repositories/lab-alice/web/_manifests/tags/v1")); err != nil {
		t.Errorf("tag not on disk: %v", err)
	}
}

func TestLabCannotUseAnotherLabsRepositories(t *testing.T) {
	s := startServer(t, "")
	cfg := s.Config()
	img := randomImage(t)
	bobs := ref(t, cfg.Repository("lab-bob", "web")+":v1")
	if err := remote.Write(bobs, img, labAuth(s, "lab-bob"), noRetry); err != nil {
		t.Fatal(err)
	}
	alice := labAuth(s, "lab-alice")

	_, err := remote.Image(bobs, alice, noRetry)
	if statusOf(err) != http.StatusForbidden || !strings.Contains(err.Error(), "DENIED") {
		t.Errorf("alice reading bob's image: %v (status %d), want 403 DENIED", err, statusOf(err))
	}
	err = remote.Write(ref(t, cfg.Repository("lab-bob", "web")+":evil"), randomImage(t), alice, noRetry)
	if statusOf(err) != http.StatusForbidden {
		t.Errorf("alice writing bob's repository: %v (status %d), want 403", err, statusOf(err))
	}
	_, err = remote.List(bobs.Context(), alice, noRetry)
	if statusOf(err) != http.StatusForbidden {
		t.Errorf("alice listing bob's tags: %v, want 403", err)
	}
	// A repository outside every lab, and one whose name only starts like the lab's.
	for _, repo := range []string{cfg.Host + "/web", cfg.Host + "/lab-alice-evil/web", cfg.Host + "/lab-alicex/web"} {
		err := remote.Write(ref(t, repo+":v1"), img, alice, noRetry)
		if statusOf(err) != http.StatusForbidden {
			t.Errorf("alice writing %s: %v, want 403", repo, err)
		}
	}

	// Bob's layers are not alice's even knowing their digests: blobs are
	// linked per repository.
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	aliceRepo := ref(t, cfg.Repository("lab-alice", "web")+"@"+d.String()).Context()
	if _, err := remote.Layer(aliceRepo.Digest(d.String()), alice, noRetry); statusOf(err) != http.StatusNotFound {
		// ggcr's Layer is lazy; fetch it to see the status.
		l, _ := remote.Layer(aliceRepo.Digest(d.String()), alice, noRetry)
		_, err = l.Compressed()
		if statusOf(err) != http.StatusNotFound {
			t.Errorf("alice reading bob's layer through her own repository: %v, want 404", err)
		}
	}
	// A cross-repository mount from bob's repository becomes a plain
	// upload: alice gets an upload session, not bob's blob.
	host := "http://" + cfg.Host
	user, pass := cfg.LabCredentials("lab-alice")
	req, _ := http.NewRequest(http.MethodPost, host+"/v2/lab-alice/web/blobs/uploads/?mount="+d.String()+"&from=lab-bob/web", nil)
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("mount from bob's repository: status %d, want 202 (a plain upload)", resp.StatusCode)
	}
	// Bob mounting within his own lab works (201 Created).
	buser, bpass := cfg.LabCredentials("lab-bob")
	req, _ = http.NewRequest(http.MethodPost, host+"/v2/lab-bob/copy/blobs/uploads/?mount="+d.String()+"&from=lab-bob/web", nil)
	req.SetBasicAuth(buser, bpass)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("mount within the lab: status %d, want 201", resp.StatusCode)
	}
}

func TestAnonymousAndWrongCredentialsAreRefused(t *testing.T) {
	s := startServer(t, "")
	cfg := s.Config()
	r := ref(t, cfg.Repository("lab-alice", "web")+":v1")
	if err := remote.Write(r, randomImage(t), labAuth(s, "lab-alice"), noRetry); err != nil {
		t.Fatal(err)
	}
	for name, auth := range map[string]authn.Authenticator{
		"anonymous":         authn.Anonymous,
		"wrong password":    &authn.Basic{Username: "lab-alice", Password: "guess"},
		"other lab's token": &authn.Basic{Username: "lab-alice", Password: token(cfg.Key, "lab-bob")},
		"token from a key":  &authn.Basic{Username: "lab-alice", Password: token(make([]byte, 32), "lab-alice")},
		"not a namespace":   &authn.Basic{Username: "Lab_Alice", Password: token(cfg.Key, "Lab_Alice")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := remote.Image(r, remote.WithAuth(auth), noRetry)
			if statusOf(err) != http.StatusUnauthorized {
				t.Errorf("pull: %v (status %d), want 401", err, statusOf(err))
			}
			err = remote.Write(ref(t, cfg.Repository("lab-alice", "web")+":v2"), randomImage(t), remote.WithAuth(auth), noRetry)
			if statusOf(err) != http.StatusUnauthorized {
				t.Errorf("push: %v (status %d), want 401", err, statusOf(err))
			}
		})
	}
	// The challenge is Basic, so docker login and crane know what to send.
	resp, err := http.Get("http://" + cfg.Host + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("GET /v2/ anonymously: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestCatalogListsOnlyTheLabsRepositories(t *testing.T) {
	s := startServer(t, "labs")
	cfg := s.Config()
	img := randomImage(t)
	for _, p := range []struct{ ns, image string }{
		{"lab-alice", "web"}, {"lab-alice", "api"}, {"lab-alice", "tools/cli"},
		{"lab-alice-two", "web"}, {"lab-bob", "web"},
	} {
		if err := remote.Write(ref(t, cfg.Repository(p.ns, p.image)+":v1"), img, labAuth(s, p.ns), noRetry); err != nil {
			t.Fatalf("push %v: %v", p, err)
		}
	}
	reg, err := name.NewRegistry(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Catalog(context.Background(), reg, labAuth(s, "lab-alice"), noRetry)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"labs/lab-alice/api", "labs/lab-alice/tools/cli", "labs/lab-alice/web"}
	if !slices.Equal(got, want) {
		t.Errorf("alice's catalog %v, want %v", got, want)
	}
	// Pagination: one page of 2, then the rest.
	page, err := remote.CatalogPage(reg, "", 2, labAuth(s, "lab-alice"), noRetry)
	if err != nil || !slices.Equal(page, want[:2]) {
		t.Errorf("first page %v, %v", page, err)
	}
	page, err = remote.CatalogPage(reg, want[1], 2, labAuth(s, "lab-alice"), noRetry)
	if err != nil || !slices.Equal(page, want[2:]) {
		t.Errorf("second page %v, %v", page, err)
	}
	// Without the prefix, even the lab's own name is outside it.
	if err := remote.Write(ref(t, cfg.Host+"/lab-alice/web:v1"), img, labAuth(s, "lab-alice"), noRetry); statusOf(err) != http.StatusForbidden {
		t.Errorf("push outside the prefix: %v, want 403", err)
	}
}

func TestBodyLimit(t *testing.T) {
	key, _ := NewKey()
	s, err := New(Options{Dir: t.TempDir(), Key: key, MaxBodyBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()
	big, err := random.Image(64<<10, 1)
	if err != nil {
		t.Fatal(err)
	}
	err = remote.Write(ref(t, s.Config().Repository("lab-a", "big")+":v1"), big, labAuth(s, "lab-a"), noRetry)
	if err == nil {
		t.Fatal("pushed a 64 KiB layer through a 4 KiB body limit")
	}
	if !strings.Contains(err.Error(), "SIZE_INVALID") || !strings.Contains(err.Error(), "limit of 4096 bytes") {
		t.Errorf("error %v, want the body limit", err)
	}
	// A body announced over the limit is refused before it is read.
	user, pass := s.Config().LabCredentials("lab-a")
	req, _ := http.NewRequest(http.MethodPut, "http://"+s.Addr()+"/v2/lab-a/big/manifests/v1", strings.NewReader(strings.Repeat("x", 8<<10)))
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("an 8 KiB manifest: status %d, want 413", resp.StatusCode)
	}
	if err := remote.Write(ref(t, s.Config().Repository("lab-a", "small")+":v1"), randomImage(t), labAuth(s, "lab-a"), noRetry); err != nil {
		t.Errorf("a small push under the limit: %v", err)
	}
}

func TestImagesSurviveARestart(t *testing.T) {
	key, _ := NewKey()
	dir := t.TempDir()
	img := randomImage(t)
	want, _ := img.Digest()
	var repo string
	for i := range 2 {
		s, err := New(Options{Dir: dir, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		repo = s.Config().Repository("lab-a", "web")
		if i == 0 {
			if err := remote.Write(ref(t, repo+":v1"), img, labAuth(s, "lab-a"), noRetry); err != nil {
				t.Fatal(err)
			}
		} else {
			d, err := remote.Head(ref(t, repo+":v1"), labAuth(s, "lab-a"), noRetry)
			if err != nil {
				t.Fatalf("after a restart: %v", err)
			}
			if d.Digest != want {
				t.Errorf("digest %s, want %s", d.Digest, want)
			}
		}
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCredentialsAndDockerConfig(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	u1, p1 := Credentials(key, "lab-a")
	u2, p2 := Credentials(key, "lab-b")
	if u1 != "lab-a" || u2 != "lab-b" || p1 == p2 || len(p1) != 43 {
		t.Errorf("credentials %s/%s %s/%s", u1, p1, u2, p2)
	}
	if _, again := Credentials(key, "lab-a"); again != p1 {
		t.Error("credentials are not deterministic")
	}
	if _, other := Credentials([]byte(strings.Repeat("x", 32)), "lab-a"); other == p1 {
		t.Error("credentials do not depend on the key")
	}
	if !Verify(key, u1, p1) || Verify(key, u1, p2) || Verify(nil, u1, p1) || Verify(key, "", p1) {
		t.Error("Verify")
	}
	var cfg struct {
		Auths map[string]struct{ Username, Password, Auth string } `json:"auths"`
	}
	if err := json.Unmarshal(DockerConfigJSON("127.0.0.1:5000", u1, p1), &cfg); err != nil {
		t.Fatal(err)
	}
	e := cfg.Auths["127.0.0.1:5000"]
	if e.Username != u1 || e.Password != p1 || e.Auth != base64.StdEncoding.EncodeToString([]byte(u1+":"+p1)) {
		t.Errorf("docker config %+v", cfg)
	}
}

func TestConfig(t *testing.T) {
	c := Config{Host: "registry.example.com", Prefix: "labs", Username: "robot", Password: "pw"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.Repository("lab-a", "web"); got != "registry.example.com/labs/lab-a/web" {
		t.Errorf("Repository %s", got)
	}
	if u, p := c.LabCredentials("lab-a"); u != "robot" || p != "pw" {
		t.Errorf("static credentials %s %s", u, p)
	}
	c = Config{Host: "127.0.0.1:5000", Key: []byte(strings.Repeat("k", 32))}
	if got := c.Repository("lab-a", "web"); got != "127.0.0.1:5000/lab-a/web" {
		t.Errorf("Repository %s", got)
	}
	if u, p := c.LabCredentials("lab-a"); u != "lab-a" || !Verify(c.Key, u, p) {
		t.Errorf("derived credentials %s %s", u, p)
	}
	for _, bad := range []Config{{}, {Host: "a b"}, {Host: "x", Prefix: "UPPER"}, {Host: "x", Key: []byte("short")}} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "registry.key")
	k1, err := LoadOrCreateKey(p)
	if err != nil || len(k1) != 2*KeySize {
		t.Fatalf("%d bytes, %v", len(k1), err)
	}
	k2, err := LoadOrCreateKey(p)
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("second load differs: %v", err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	_ = os.WriteFile(p, []byte("short"), 0o600)
	if _, err := LoadOrCreateKey(p); err == nil {
		t.Error("accepted a short key")
	}
}

// TestLabStorageQuota: a lab's uploads stop at its quota with a message
// saying so; other labs are unaffected, and deleting what it pushed makes
// room again.
func TestLabStorageQuota(t *testing.T) {
	key, _ := NewKey()
	s, err := New(Options{Dir: t.TempDir(), Key: key, MaxLabBytes: 100 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()
	cfg := s.Config()
	push := func(ns, image string) (v1.Image, error) {
		img, err := random.Image(40<<10, 1)
		if err != nil {
			t.Fatal(err)
		}
		return img, remote.Write(ref(t, cfg.Repository(ns, image)+":v1"), img, labAuth(s, ns), noRetry)
	}
	var pushed []v1.Image
	for i := range 2 {
		img, err := push("lab-a", fmt.Sprintf("app%d", i))
		if err != nil {
			t.Fatalf("push %d under the quota: %v", i, err)
		}
		pushed = append(pushed, img)
	}
	used, err := s.labUsage(cfg.LabPrefix("lab-a"))
	if err != nil || used < 80<<10 || used > 100<<10 {
		t.Fatalf("usage after two 40 KiB layers: %d %v", used, err)
	}
	_, err = push("lab-a", "app2")
	if statusOf(err) != http.StatusForbidden || !strings.Contains(err.Error(), "of registry storage") {
		t.Fatalf("third push over the quota: %v, want 403 naming the storage used", err)
	}
	if _, err := push("lab-b", "app0"); err != nil {
		t.Errorf("another lab's push: %v", err)
	}
	// Deleting a layer the lab no longer needs makes room.
	layers, _ := pushed[0].Layers()
	digest, _ := layers[0].Digest()
	user, pass := cfg.LabCredentials("lab-a")
	req, _ := http.NewRequest(http.MethodDelete, "http://"+s.Addr()+"/v2/"+cfg.Repository("lab-a", "app0")[len(cfg.Host)+1:]+"/blobs/"+digest.String(), nil)
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deleting a layer: status %d", resp.StatusCode)
	}
	if _, err := push("lab-a", "app2"); err != nil {
		t.Errorf("push after making room: %v", err)
	}
}

// TestKeysSurviveParsing: every new key reads back as itself, also from a
// file that ends in a newline. Raw random keys did not: one in twenty began
// or ended with a whitespace byte, which the operator trimmed and the
// registry did not, and the operator refused the shortened key.
func TestKeysSurviveParsing(t *testing.T) {
	for range 2000 {
		k, err := NewKey()
		if err != nil {
			t.Fatal(err)
		}
		for _, stored := range [][]byte{k, append(append([]byte(nil), k...), '\n'), append([]byte(" \t"), k...)} {
			got, err := ParseKey(stored)
			if err != nil || string(got) != string(k) {
				t.Fatalf("key %q stored as %q read back as %q, %v", k, stored, got, err)
			}
		}
	}
	if _, err := ParseKey([]byte(" short \n")); err == nil || !strings.Contains(err.Error(), "want at least 32") {
		t.Errorf("a short key: %v", err)
	}
}
