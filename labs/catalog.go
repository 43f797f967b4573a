package labs

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// The catalog: one folder per track, one folder per exercise in it, and
// shared/. A new track is a new folder here. Only what the operator hands
// out is embedded, not an exercise's grading cases (cases/, test data) nor
// its reference solution (solution/).
// Charts are embedded with all: so that chart files starting with '_' or
// '.' (templates/_helpers.tpl) are kept; go:embed leaves them out
// otherwise. TestEmbedHoldsTheCatalog checks that every other file of an
// exercise folder is embedded.
//
//go:embed shared */*/exercise.yaml */*/instructions.md */*/shared.yaml */*/files all:*/*/charts
var builtin embed.FS

// Files of an exercise folder, labs/<track>/<exercise>/.
const (
	// ExerciseFile is the Exercise manifest, without spec.instructions and
	// spec.starter.files.
	ExerciseFile = "exercise.yaml"
	// InstructionsFile becomes spec.instructions.
	InstructionsFile = "instructions.md"
	// FilesDir holds the starter files: each file becomes
	// spec.starter.files[<file name>].
	FilesDir = "files"
	// ChartsDir holds Helm chart sources, one folder per chart named like
	// the chart: charts/<chart>/Chart.yaml, values.yaml, templates/... Each
	// is packaged into a chart archive helm installs (a .tgz with every file
	// under <chart>/, see packageChart) and handed to the learner as the
	// starter file
	// <chart>-<version>.tgz.b64, the archive in base64: labs have no chart
	// repository, and ConfigMap data is text.
	ChartsDir = "charts"
	// SharedFile lists starter files stored once in the catalog's shared/
	// folder, by their path in it: each becomes
	// spec.starter.files[<its base name>], as if it were in files/.
	SharedFile = "shared.yaml"
	// CasesDir holds the exercise's grading cases (see labs/cases_test.go),
	// test data the catalog neither embeds nor reads.
	CasesDir = "cases"
	// SolutionDir holds the exercise's reference solution: steps.yaml and
	// the learner's files (see internal/solution). Not embedded: the
	// self-test (kubectl rotation test EXERCISE --solution DIR) and the
	// whole-onboarding e2e read it from disk.
	SolutionDir = "solution"
)

// StarterSuffix ends the name of a starter file the Go tool must not take
// for the project's own: a go.mod (go:embed refuses a folder holding one)
// and Go sources of a starter app (the cicd track's planted failing test
// would fail the project's tests). The catalog hands the file out without
// it: files/go.mod.starter is the starter file go.mod.
const StarterSuffix = ".starter"

// SharedDir is the catalog's folder of starter files more than one exercise
// hands out, stored once; exercises name them in their shared.yaml. It is
// not a track.
const SharedDir = "shared"

// sharedList is the content of an exercise's shared.yaml.
type sharedList struct {
	// Files are paths under shared/, e.g. hello/main.go.
	Files []string `json:"files"`
}

// MaxChartSize bounds one packaged chart, in base64: the starter files
// travel in the Exercise and in a ConfigMap, each at most ~1 MiB.
const MaxChartSize = 256 << 10

var loadBuiltin = sync.OnceValues(func() ([]rotationsv1.Exercise, error) { return load(builtin) })

// Catalog returns the built-in exercises, labelled
// rotations.handson.dev/builtin=true and sorted by track then name. The
// caller owns the result: each call returns fresh copies.
func Catalog() ([]rotationsv1.Exercise, error) {
	all, err := loadBuiltin()
	if err != nil {
		return nil, fmt.Errorf("built-in exercise catalog (labs/): %w", err)
	}
	out := make([]rotationsv1.Exercise, len(all))
	for i := range all {
		all[i].DeepCopyInto(&out[i])
	}
	return out, nil
}

// load reads every <track>/<exercise>/ folder of fsys. It reports every
// problem it finds, each naming its file.
func load(fsys fs.FS) ([]rotationsv1.Exercise, error) {
	tracks, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var (
		out  []rotationsv1.Exercise
		errs []error
		seen = map[string]string{} // exercise name -> its folder
		used = map[string]bool{}   // shared files some exercise hands out
	)
	for _, t := range tracks {
		if t.Name() == SharedDir && t.IsDir() {
			continue
		}
		if !t.IsDir() {
			errs = append(errs, fmt.Errorf("%s: not a track folder; the catalog holds <track>/<exercise>/ folders", t.Name()))
			continue
		}
		dirs, err := fs.ReadDir(fsys, t.Name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, d := range dirs {
			dir := path.Join(t.Name(), d.Name())
			if !d.IsDir() {
				errs = append(errs, fmt.Errorf("%s: not an exercise folder; a track holds <exercise>/ folders", dir))
				continue
			}
			ex, err := loadExercise(fsys, t.Name(), dir, used)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if prev, dup := seen[ex.Name]; dup {
				errs = append(errs, fmt.Errorf("%s: exercise %q is also defined in %s; names are unique across tracks", dir, ex.Name, prev))
				continue
			}
			seen[ex.Name] = dir
			out = append(out, *ex)
		}
	}
	errs = append(errs, unusedShared(fsys, used))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b rotationsv1.Exercise) int {
		return cmp.Or(cmp.Compare(a.Spec.Track, b.Spec.Track), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

// loadExercise reads one exercise folder, and marks the shared files it
// hands out in used.
func loadExercise(fsys fs.FS, track, dir string, used map[string]bool) (*rotationsv1.Exercise, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		switch {
		case e.Name() == ExerciseFile && !e.IsDir(), e.Name() == InstructionsFile && !e.IsDir(),
			e.Name() == SharedFile && !e.IsDir(), e.Name() == FilesDir && e.IsDir(),
			e.Name() == ChartsDir && e.IsDir(), e.Name() == CasesDir && e.IsDir(), e.Name() == SolutionDir && e.IsDir():
		default:
			return nil, fmt.Errorf("%s: unexpected; an exercise folder holds %s, %s, %s, %s/, %s/, %s/ and %s/", path.Join(dir, e.Name()),
				ExerciseFile, InstructionsFile, SharedFile, FilesDir, ChartsDir, CasesDir, SolutionDir)
		}
	}

	manifest := path.Join(dir, ExerciseFile)
	data, err := fs.ReadFile(fsys, manifest)
	if err != nil {
		return nil, err
	}
	ex := &rotationsv1.Exercise{}
	if err := yaml.UnmarshalStrict(data, ex); err != nil {
		return nil, fmt.Errorf("%s: %w", manifest, err)
	}
	if err := checkManifest(ex, track, path.Base(dir)); err != nil {
		return nil, fmt.Errorf("%s: %w", manifest, err)
	}

	instructions := path.Join(dir, InstructionsFile)
	text, err := fs.ReadFile(fsys, instructions)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(string(text)) == "" {
		return nil, fmt.Errorf("%s: empty", instructions)
	}
	ex.Spec.Instructions = string(text)

	files, err := loadFiles(fsys, path.Join(dir, FilesDir))
	if err != nil {
		return nil, err
	}
	shared, err := loadShared(fsys, path.Join(dir, SharedFile), used)
	if err != nil {
		return nil, err
	}
	for key, data := range shared {
		if _, dup := files[key]; dup {
			return nil, fmt.Errorf("%s: the shared file %s has the same name as a file in %s/", path.Join(dir, SharedFile), key, FilesDir)
		}
		if files == nil {
			files = map[string]string{}
		}
		files[key] = data
	}
	charts, err := loadCharts(fsys, path.Join(dir, ChartsDir))
	if err != nil {
		return nil, err
	}
	for key, data := range charts {
		if _, dup := files[key]; dup {
			return nil, fmt.Errorf("%s: the packaged chart %s has the same name as a starter file", path.Join(dir, FilesDir, key), key)
		}
		if files == nil {
			files = map[string]string{}
		}
		files[key] = data
	}
	ex.Spec.Starter.Files = files

	if ex.Labels == nil {
		ex.Labels = map[string]string{}
	}
	ex.Labels[rotationsv1.LabelBuiltin] = "true"
	return ex, nil
}

// checkManifest checks what exercise.yaml may and must say.
func checkManifest(ex *rotationsv1.Exercise, track, folder string) error {
	var errs []error
	if gv := rotationsv1.GroupVersion.String(); ex.APIVersion != gv || ex.Kind != "Exercise" {
		errs = append(errs, fmt.Errorf("apiVersion %q and kind %q: want %s and Exercise", ex.APIVersion, ex.Kind, gv))
	}
	if ex.Name != folder {
		errs = append(errs, fmt.Errorf("metadata.name %q does not match its folder %q", ex.Name, folder))
	}
	if ex.Namespace != "" {
		errs = append(errs, fmt.Errorf("metadata.namespace is set; Exercises are cluster-scoped"))
	}
	if string(ex.Spec.Track) != track {
		errs = append(errs, fmt.Errorf("spec.track %q does not match its track folder %q", ex.Spec.Track, track))
	}
	if ex.Spec.Instructions != "" {
		errs = append(errs, fmt.Errorf("spec.instructions is set; write them in %s", InstructionsFile))
	}
	if len(ex.Spec.Starter.Files) > 0 {
		errs = append(errs, fmt.Errorf("spec.starter.files is set; put the files in %s/", FilesDir))
	}
	if !reflect.DeepEqual(ex.Status, rotationsv1.ExerciseStatus{}) {
		errs = append(errs, errors.New("status is set; the operator writes it"))
	}
	if err := lab.ValidateStarter(ex.Spec.Starter.Objects); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// loadFiles reads the starter files of an exercise; a missing folder is no files.
func loadFiles(fsys fs.FS, dir string) (map[string]string, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	files := make(map[string]string, len(entries))
	for _, e := range entries {
		name := path.Join(dir, e.Name())
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file; starter files are flat", name)
		}
		key := strings.TrimSuffix(e.Name(), StarterSuffix)
		if key == InstructionsFile {
			return nil, fmt.Errorf("%s: reserved; the instructions ConfigMap already has this key", name)
		}
		if msgs := validation.IsConfigMapKey(key); len(msgs) > 0 {
			return nil, fmt.Errorf("%s: not a valid ConfigMap key: %s", name, strings.Join(msgs, "; "))
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		if _, dup := files[key]; dup {
			return nil, fmt.Errorf("%s: hands out %q, which another file of %s/ already does", name, key, FilesDir)
		}
		files[key] = string(data)
	}
	return files, nil
}

// loadShared reads the shared files an exercise's shared.yaml lists; a
// missing shared.yaml is none. It returns the starter files by base name.
func loadShared(fsys fs.FS, list string, used map[string]bool) (map[string]string, error) {
	data, err := fs.ReadFile(fsys, list)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var l sharedList
	if err := yaml.UnmarshalStrict(data, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", list, err)
	}
	if len(l.Files) == 0 {
		return nil, fmt.Errorf("%s: lists no files", list)
	}
	files := make(map[string]string, len(l.Files))
	for _, f := range l.Files {
		name := path.Join(SharedDir, f)
		if !fs.ValidPath(f) || path.Clean(f) != f {
			return nil, fmt.Errorf("%s: %q is not a clean path under %s/", list, f, SharedDir)
		}
		key := path.Base(f)
		if _, dup := files[key]; dup {
			return nil, fmt.Errorf("%s: two shared files are named %s", list, key)
		}
		if msgs := validation.IsConfigMapKey(key); len(msgs) > 0 {
			return nil, fmt.Errorf("%s: %s is not a valid ConfigMap key: %s", list, key, strings.Join(msgs, "; "))
		}
		if key == InstructionsFile {
			return nil, fmt.Errorf("%s: %s is reserved; the instructions ConfigMap already has this key", list, key)
		}
		content, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", list, err)
		}
		files[key] = string(content)
		used[name] = true
	}
	return files, nil
}

// unusedShared reports the files of shared/ no exercise hands out.
func unusedShared(fsys fs.FS, used map[string]bool) error {
	var errs []error
	err := fs.WalkDir(fsys, SharedDir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case errors.Is(err, fs.ErrNotExist) && p == SharedDir:
			return fs.SkipAll
		case err != nil:
			return err
		case !d.IsDir() && !used[p]:
			errs = append(errs, fmt.Errorf("%s: no exercise lists it in its %s", p, SharedFile))
		}
		return nil
	})
	return errors.Join(append(errs, err)...)
}

// loadCharts packages every chart folder of an exercise's charts/ folder; a
// missing folder is no charts. It returns the starter files by name:
// <chart>-<version>.tgz.b64 -> the base64 of the archive.
func loadCharts(fsys fs.FS, dir string) (map[string]string, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	files := make(map[string]string, len(entries))
	for _, e := range entries {
		chartDir := path.Join(dir, e.Name())
		if !e.IsDir() {
			return nil, fmt.Errorf("%s: not a chart folder; %s/ holds one folder per chart", chartDir, ChartsDir)
		}
		key, tgz, err := packageChart(fsys, chartDir)
		if err != nil {
			return nil, err
		}
		encoded := base64.StdEncoding.EncodeToString(tgz)
		if len(encoded) > MaxChartSize {
			return nil, fmt.Errorf("%s: packaged chart is %d bytes in base64, over the %d KiB limit", chartDir, len(encoded), MaxChartSize>>10)
		}
		files[key] = encoded
	}
	return files, nil
}

// packageChart packages the Helm chart source in dir of fsys (Chart.yaml,
// values.yaml, templates/...) as a chart archive Helm installs from:
// a gzipped tar of every file, named <chart>/<path in dir>. The chart's name
// in Chart.yaml must be the folder's name. It returns the starter file key
// <chart>-<version>.tgz.b64 and the archive.
//
// The archive is deterministic, so the catalog, and the Exercises made from
// it, do not change from one load or build to the next: entries sorted by
// path, regular files only (no directory entries, like helm package), mode
// 0644, owner 0:0 without names, modification time 0 (1970-01-01) in the
// tar and none in the gzip header. Every file is packaged; .helmignore is
// not read. The archive is then loaded with Helm's own chart loader, which
// validates Chart.yaml and values.yaml as helm install will.
func packageChart(fsys fs.FS, dir string) (key string, tgz []byte, err error) {
	folder := path.Base(dir)
	var names []string
	err = fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
		case d.Type().IsRegular():
			names = append(names, p)
		default:
			return fmt.Errorf("%s: not a regular file or folder", p)
		}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	slices.Sort(names)

	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", nil, err
	}
	tw := tar.NewWriter(zw)
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return "", nil, err
		}
		rel := strings.TrimPrefix(name, dir+"/")
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     folder + "/" + rel,
			Mode:     0o644,
			Size:     int64(len(data)),
			ModTime:  time.Unix(0, 0),
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return "", nil, fmt.Errorf("%s: %w", name, err)
		}
		if _, err := tw.Write(data); err != nil {
			return "", nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return "", nil, err
	}
	if err := zw.Close(); err != nil {
		return "", nil, err
	}
	tgz = buf.Bytes()

	c, err := loader.LoadArchive(bytes.NewReader(tgz))
	if err != nil {
		return "", nil, fmt.Errorf("%s: not a chart Helm can load: %w", dir, err)
	}
	if c.Name() != folder {
		return "", nil, fmt.Errorf("%s: Chart.yaml names the chart %q; the folder must have the chart's name", path.Join(dir, "Chart.yaml"), c.Name())
	}
	key = c.Name() + "-" + c.Metadata.Version + ".tgz.b64"
	if msgs := validation.IsConfigMapKey(key); len(msgs) > 0 {
		return "", nil, fmt.Errorf("%s: the packaged chart's file name %s is not a valid ConfigMap key: %s", path.Join(dir, "Chart.yaml"), key, strings.Join(msgs, "; "))
	}
	return key, tgz, nil
}
