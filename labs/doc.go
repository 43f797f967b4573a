// Package labs embeds the built-in exercise catalog: one folder per track,
// one folder per exercise in it (exercise.yaml, instructions.md, files/ and,
// for Helm exercises, charts/<chart>/ sources packaged into the starter file
// <chart>-<version>.tgz.b64 at load time).
package labs
