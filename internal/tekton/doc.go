// Package tekton puts Tekton Pipelines into a lab cluster without the
// internet: the component images are built around the static binaries the
// toolchain compiled from the Go module proxy (toolchain.Tekton), with
// go-containerregistry like the lab images, under
// rotation.local/tekton/<name>:<Version>; the release manifests from the
// module's config/ folder are rendered to use them, with Pod Security
// "restricted" satisfied by TaskRun pods (feature flag
// set-security-context).
package tekton
