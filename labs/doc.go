// Package labs embeds the built-in exercise catalog: one folder per track,
// one folder per exercise in it (exercise.yaml, instructions.md, files/,
// shared.yaml naming starter files stored once under shared/ and, for Helm
// exercises, charts/<chart>/ sources packaged into the starter file
// <chart>-<version>.tgz.b64 at load time). Each exercise's grading cases
// are data next to it, cases/<case>.yaml, which the tests load
// (cases_test.go) and the catalog does not embed. The only Go here is the
// loader, its tests and the grading harness the cases are fed to.
package labs
