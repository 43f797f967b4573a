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
//   - a step's workingDir that does not exist yet is made before the steps
//     run, owned by root: a step running as nonroot cannot write into it
//     (go build -o out/x with workingDir .../out failed so);
//   - kubectl in a step (DeployImage) needs the ServiceAccount's token,
//     which the lab's learner ServiceAccount does not mount: the run sets
//     podTemplate.automountServiceAccountToken: true;
//   - a step pushes to the lab registry at the address the lab-registry
//     Secret names: on the real node the registry listens on the node's
//     address, where pods reach it (127.0.0.1 would be the pod's own).
package tekton
