// Package submission is how a learner hands in files for tracks graded from
// files (a Terraform configuration, a Dockerfile and its build context): a
// ConfigMap named submission-<exercise> in the lab namespace, labelled
// rotations.handson.dev/submission=<exercise>, whose data keys are the file
// names. Handing in again replaces it; the newest submission is graded and
// the rotation keeps the credit earlier submissions earned. Mentors read it
// with kubectl get configmap submission-<exercise> -o yaml.
//
// The same Validate runs in `kubectl rotation submit` before upload and in
// the operator before grading, so a bad submission gets the same clear
// message on both sides.
package submission

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// Limits of one submission. A ConfigMap holds at most 1 MiB; these keep well
// under it and bound what the grader reads.
const (
	MaxFiles      = 32
	MaxFileBytes  = 64 << 10
	MaxTotalBytes = 256 << 10
)

// Submission is one handed-in set of files.
type Submission struct {
	Exercise    string
	ConfigMap   string
	Files       map[string]string
	Digest      string
	SubmittedAt time.Time
}

// ConfigMapName is the name of an exercise's submission ConfigMap.
func ConfigMapName(exercise string) string { return rotationsv1.SubmissionPrefix + exercise }

// Validate checks file names, count, sizes and content. Every problem is
// reported, sorted, so a learner fixes them in one go.
func Validate(files map[string]string, binary map[string][]byte) error {
	var errs []string
	if len(files) == 0 && len(binary) == 0 {
		return errors.New("the submission has no files")
	}
	for name := range binary {
		errs = append(errs, fmt.Sprintf("%s: binary files are not accepted; submit text files only", name))
	}
	if n := len(files) + len(binary); n > MaxFiles {
		errs = append(errs, fmt.Sprintf("%d files, over the limit of %d", n, MaxFiles))
	}
	total := 0
	for name, content := range files {
		total += len(content)
		if err := ValidateName(name); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if len(content) > MaxFileBytes {
			errs = append(errs, fmt.Sprintf("%s: %d bytes, over the limit of %d per file", name, len(content), MaxFileBytes))
		} else if !utf8.ValidString(content) || strings.ContainsRune(content, 0) {
			errs = append(errs, fmt.Sprintf("%s: not UTF-8 text; binary files are not accepted", name))
		}
	}
	if total > MaxTotalBytes {
		errs = append(errs, fmt.Sprintf("%d bytes in all, over the limit of %d", total, MaxTotalBytes))
	}
	if len(errs) == 0 {
		return nil
	}
	sort.Strings(errs)
	return fmt.Errorf("invalid submission: %s", strings.Join(errs, "; "))
}

// ValidateName accepts flat file names a ConfigMap key can hold: no
// directories, no "..", no hidden files.
func ValidateName(name string) error {
	switch {
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("%q: only files at the top of the directory are accepted, not paths", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("%q: hidden files and .. are not accepted", name)
	}
	if errs := validation.IsConfigMapKey(name); len(errs) > 0 {
		return fmt.Errorf("%q: %s", name, strings.Join(errs, ", "))
	}
	return nil
}

// Digest identifies a set of files: sha256 over sorted names and contents.
func Digest(files map[string]string) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%d:%s%d:", len(n), n, len(files[n]))
		h.Write([]byte(files[n]))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// FromDir reads the files at the top of dir. Hidden entries (.terraform,
// .git) and directories are skipped; anything else must pass Validate.
func FromDir(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files, binary := map[string]string{}, map[string][]byte{}
	total := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file", e.Name())
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		// Refuse before reading what could not be accepted anyway.
		if total += int(info.Size()); info.Size() > MaxFileBytes || total > MaxTotalBytes {
			return nil, fmt.Errorf("invalid submission: %s: too large (%d bytes; limits %d per file, %d in all)", e.Name(), info.Size(), MaxFileBytes, MaxTotalBytes)
		}
		b, err := fs.ReadFile(os.DirFS(dir), e.Name())
		if err != nil {
			return nil, err
		}
		if utf8.Valid(b) && !strings.ContainsRune(string(b), 0) {
			files[e.Name()] = string(b)
		} else {
			binary[e.Name()] = b
		}
	}
	if err := Validate(files, binary); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Clean(dir), err)
	}
	return files, nil
}

// ConfigMap builds the submission object for an exercise.
func ConfigMap(namespace, exercise string, files map[string]string, now time.Time) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        ConfigMapName(exercise),
			Namespace:   namespace,
			Labels:      map[string]string{rotationsv1.LabelSubmission: exercise},
			Annotations: map[string]string{rotationsv1.AnnotationSubmittedAt: now.UTC().Format(time.RFC3339)},
		},
		Data: files,
	}
}

// FromConfigMap reads and validates a submission. The error says what is
// wrong with it in words for the learner.
func FromConfigMap(cm *corev1.ConfigMap) (*Submission, error) {
	exercise := cm.Labels[rotationsv1.LabelSubmission]
	if exercise == "" || cm.Name != ConfigMapName(exercise) {
		return nil, fmt.Errorf("ConfigMap %s: a submission is named %s<exercise> and labelled %s=<exercise>", cm.Name, rotationsv1.SubmissionPrefix, rotationsv1.LabelSubmission)
	}
	if err := Validate(cm.Data, cm.BinaryData); err != nil {
		return nil, err
	}
	s := &Submission{Exercise: exercise, ConfigMap: cm.Name, Files: cm.Data, Digest: Digest(cm.Data)}
	if t, err := time.Parse(time.RFC3339, cm.Annotations[rotationsv1.AnnotationSubmittedAt]); err == nil {
		s.SubmittedAt = t
	} else {
		s.SubmittedAt = cm.CreationTimestamp.Time
	}
	return s, nil
}

// Facts are the submission's facts for checks (the CEL variable
// "submission"): files maps each file name to its text, digest identifies them.
func (s *Submission) Facts() map[string]any {
	files := make(map[string]any, len(s.Files))
	for n, c := range s.Files {
		files[n] = c
	}
	return map[string]any{"files": files, "digest": s.Digest}
}
