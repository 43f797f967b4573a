package submission

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	many := map[string]string{}
	for i := range MaxFiles + 1 {
		many[strings.Repeat("a", i+1)+".tf"] = "x"
	}
	big := map[string]string{}
	for i := range 5 {
		big[string(rune('a'+i))+".tf"] = strings.Repeat("x", MaxFileBytes-1)
	}
	cases := []struct {
		name   string
		files  map[string]string
		binary map[string][]byte
		want   string // substring of the error; "" means valid
	}{
		{"ok", map[string]string{"main.tf": "resource {}", "Dockerfile": "FROM x"}, nil, ""},
		{"empty", nil, nil, "no files"},
		{"traversal", map[string]string{"../etc/passwd": "x"}, nil, "not paths"},
		{"dotdot", map[string]string{"..": "x"}, nil, "hidden files"},
		{"hidden", map[string]string{".terraformrc": "x"}, nil, "hidden files"},
		{"backslash", map[string]string{`a\b`: "x"}, nil, "not paths"},
		{"bad key", map[string]string{"main tf": "x"}, nil, "valid config key"},
		{"binary data", nil, map[string][]byte{"app": {0, 1}}, "binary files are not accepted"},
		{"nul byte", map[string]string{"main.tf": "a\x00b"}, nil, "not UTF-8 text"},
		{"bad utf8", map[string]string{"main.tf": "\xff\xfe"}, nil, "not UTF-8 text"},
		{"too many", many, nil, "over the limit of 32"},
		{"file too big", map[string]string{"main.tf": strings.Repeat("x", MaxFileBytes+1)}, nil, "per file"},
		{"total too big", big, nil, "in all"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Validate(c.files, c.binary)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("valid submission rejected: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestDigestIsStableAndDistinguishesBoundaries(t *testing.T) {
	a := Digest(map[string]string{"a": "bc", "d": "e"})
	if a != Digest(map[string]string{"d": "e", "a": "bc"}) {
		t.Fatal("digest depends on map order")
	}
	if a == Digest(map[string]string{"a": "b", "d": "ce"}) || a == Digest(map[string]string{"ab": "c", "d": "e"}) {
		t.Fatal("digest does not separate names from contents")
	}
}

func TestFromDirAndConfigMapRoundTrip(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.tf", `resource "x" "y" {}`)
	write("variables.tf", `variable "v" {}`)
	if err := os.MkdirAll(filepath.Join(dir, ".terraform", "providers"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(".terraform.lock.hcl", "lock")
	files, err := FromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files["main.tf"] == "" {
		t.Fatalf("files = %v, want main.tf and variables.tf only", files)
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	cm := ConfigMap("lab-a", "tf-basics", files, now)
	if cm.Name != "submission-tf-basics" {
		t.Fatalf("name %s", cm.Name)
	}
	s, err := FromConfigMap(cm)
	if err != nil {
		t.Fatal(err)
	}
	if s.Exercise != "tf-basics" || !s.SubmittedAt.Equal(now) || s.Digest != Digest(files) {
		t.Fatalf("submission %+v", s)
	}

	write("app", "\x7fELF\x00\x01")
	if _, err := FromDir(dir); err == nil || !strings.Contains(err.Error(), "app: binary files are not accepted") {
		t.Fatalf("binary file accepted: %v", err)
	}
}

func TestFromConfigMapRejectsMislabelled(t *testing.T) {
	cm := ConfigMap("lab-a", "tf-basics", map[string]string{"main.tf": "x"}, time.Now())
	cm.Name = "submission-other"
	if _, err := FromConfigMap(cm); err == nil {
		t.Fatal("a ConfigMap whose name does not match its label was accepted")
	}
}
