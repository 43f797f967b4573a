// Package lab describes what a lab namespace contains: the namespace itself,
// the learner's and mentors' access, quota, limits, network isolation and the
// learner's kubeconfig. It only builds objects; the controller writes them.
package lab
