// Package tekton puts Tekton Pipelines into a lab cluster without the
// internet: the component images are built around the static binaries the
// toolchain compiled from the Go module proxy (toolchain.Tekton), with
// go-containerregistry like the lab images, under
// rotation.local/tekton/<name>:<Version>; the release manifests from the
// module's config/ folder are rendered to use them, with Pod Security
// "restricted" satisfied by TaskRun pods (feature flag
// set-security-context; without it the lab refuses every TaskRun pod with
// PodAdmissionFailed, as the real-node test showed).
//
// What learners' Tasks must know, found on the real node:
//   - steps name their command: the controller looks an image's entrypoint
//     up in its registry only when a step has none, and rotation.local
//     does not resolve;
//   - steps set the restricted security context themselves
//     (stepTemplate.securityContext), as any pod in a lab must;
//   - TaskRun pods are created by Tekton's controller, not by the learner:
//     the lab's admission policy for the learner's own requests does not
//     see them; Pod Security, the quota and the LimitRange do.
package tekton
