package submission

import (
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// fuzzFiles splits b into file names and contents: "name\x00content\x00...".
func fuzzFiles(b []byte) map[string]string {
	if len(b) == 0 {
		return nil
	}
	parts := strings.Split(string(b), "\x00")
	out := map[string]string{}
	for i := 0; i+1 < len(parts); i += 2 {
		out[parts[i]] = parts[i+1]
	}
	if len(parts)%2 == 1 && parts[len(parts)-1] != "" {
		out[parts[len(parts)-1]] = ""
	}
	return out
}

// FuzzFromConfigMap reads arbitrary submission ConfigMaps as the operator
// does before grading: nothing may panic, a rejection has a message, and
// whatever is accepted keeps every promise Validate makes.
func FuzzFromConfigMap(f *testing.F) {
	for _, s := range []struct {
		exercise, name, submittedAt string
		data, binary                []byte
	}{
		{"tf", "submission-tf", "2026-01-02T03:04:05Z", []byte("main.tf\x00resource \"x\" \"y\" {}\x00variables.tf\x00variable \"a\" {}"), nil},
		{"tf", "submission-tf", "yesterday", []byte("main.tf\x00ok"), []byte("a.bin\x00\x7fELF")},
		{"tf", "submission-other", "", []byte("main.tf\x00ok"), nil},
		{"", "submission-", "", []byte("main.tf\x00ok"), nil},
		{"tf", "submission-tf", "", []byte("../etc/passwd\x00x\x00.hidden\x00y\x00a\\b\x00z"), nil},
		{"tf", "submission-tf", "", []byte("名前.tf\x00ü\x00main.tf\x00\xff\xfe"), nil},
		{"tf", "submission-tf", "", []byte("main.tf\x00" + strings.Repeat("#", MaxFileBytes+1)), nil},
		{"tf", "submission-tf", "", nil, nil},
	} {
		f.Add(s.exercise, s.name, s.submittedAt, s.data, s.binary)
	}
	f.Fuzz(func(t *testing.T, exercise, name, submittedAt string, data, binary []byte) {
		if len(data)+len(binary) > 2<<20 {
			return // a ConfigMap holds at most 1 MiB
		}
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Labels:      map[string]string{rotationsv1.LabelSubmission: exercise},
				Annotations: map[string]string{rotationsv1.AnnotationSubmittedAt: submittedAt},
			},
			Data: fuzzFiles(data),
		}
		if bin := fuzzFiles(binary); len(bin) > 0 {
			cm.BinaryData = map[string][]byte{}
			for k, v := range bin {
				cm.BinaryData[k] = []byte(v)
			}
		}
		s, err := FromConfigMap(cm)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			if s != nil {
				t.Fatal("a submission returned with an error")
			}
			return
		}
		if s.Exercise != exercise || exercise == "" || s.ConfigMap != ConfigMapName(exercise) {
			t.Fatalf("accepted ConfigMap %q for exercise %q", name, exercise)
		}
		if len(cm.BinaryData) > 0 {
			t.Fatal("accepted binary files")
		}
		if len(s.Files) == 0 || len(s.Files) > MaxFiles {
			t.Fatalf("accepted %d files", len(s.Files))
		}
		total := 0
		for n, c := range s.Files {
			total += len(c)
			if err := ValidateName(n); err != nil || strings.ContainsAny(n, `/\`) || strings.HasPrefix(n, ".") || n == "" {
				t.Fatalf("accepted file name %q (%v)", n, err)
			}
			if len(c) > MaxFileBytes || !utf8.ValidString(c) || strings.ContainsRune(c, 0) {
				t.Fatalf("accepted content of %s: %d bytes, valid UTF-8 %t", n, len(c), utf8.ValidString(c))
			}
		}
		if total > MaxTotalBytes {
			t.Fatalf("accepted %d bytes", total)
		}
		if s.Digest != Digest(maps.Clone(s.Files)) || !strings.HasPrefix(s.Digest, "sha256:") {
			t.Fatalf("digest %q is not the files' digest", s.Digest)
		}
		facts := s.Facts()
		if files, _ := facts["files"].(map[string]any); len(files) != len(s.Files) || facts["digest"] != s.Digest {
			t.Fatalf("facts %v do not match the submission", facts)
		}
	})
}

// FuzzDigest: the digest separates names from contents, so moving bytes
// between a name and its content changes it.
func FuzzDigest(f *testing.F) {
	f.Add("main.tf", "x", "main.t", "fx")
	f.Add("a", "", "", "a")
	f.Fuzz(func(t *testing.T, n1, c1, n2, c2 string) {
		if n1 == n2 && c1 == c2 {
			return
		}
		if Digest(map[string]string{n1: c1}) == Digest(map[string]string{n2: c2}) {
			t.Fatalf("%q=%q and %q=%q have the same digest", n1, c1, n2, c2)
		}
	})
}
