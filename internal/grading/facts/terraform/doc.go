// Package terraform grades a learner's Terraform configuration: it is the
// `terraform` fact collector of the grading engine, and the runner that
// produces those facts in isolation.
//
// # How a submission is graded
//
// The learner submits flat files (main.tf, variables.tf, ...). A runner
// writes them into a scratch directory and, with terraform-exec and the real
// terraform CLI, runs
//
//	fmt -check                  | init -input=false -json -backend-config=namespace=<lab> -backend-config=config_path=<lab kubeconfig>
//	validate -json              | plan -json -detailed-exitcode -refresh=true -lock-timeout=<Timeouts.Lock> -out=<file>
//	show -json <plan file>      | show -json (the state)
//
// two at a time where they do not depend on each other (each pair waits
// for the one before), parsing every JSON document with
// hashicorp/terraform-json. It never applies: a submission is graded
// against what the learner applied with their own terraform. Every step has
// its own timeout inside the run's (Timeouts).
//
// Before any of that, a static pre-check reads the HCL (hclsyntax) and
// refuses, with a message naming file and line, what a lab never needs and
// what could reach outside it: file-family functions (file, templatefile,
// fileset, ...) on absolute, home-relative or ".." paths or on paths that
// are not literals relative to path.module; a kubernetes provider or backend
// that sets config_path(s) or an exec credential plugin; backends other than
// kubernetes; terraform_remote_state outside the lab namespace or with a
// backend other than kubernetes; module calls; .tf.json files; Terraform
// Cloud blocks. A submission that fails the pre-check is not run at all.
// The pre-check is defence in depth: the runner's isolation does not rely
// on it.
//
// # Isolation
//
// Learner configuration can read files (file()), start programs (provider
// exec plugins, provisioners), read other states (terraform_remote_state)
// and point the provider at any kubeconfig. So terraform runs
//
//   - with only the lab's kubeconfig (KUBE_CONFIG_PATH and the backend's
//     config_path), whose token is the learner's own lab-scoped one;
//   - with a clean environment: PATH, HOME and TMPDIR in the scratch area,
//     TF_CLI_CONFIG_FILE, KUBE_CONFIG_PATH, CHECKPOINT_DISABLE; nothing of
//     the operator's, no shared plugin cache;
//   - with a CLI configuration whose provider_installation has only a
//     filesystem_mirror holding hashicorp/kubernetes (see
//     toolchain.TerraformProviderVersion), so any other provider fails init;
//   - never with apply, so provisioners never run;
//   - in local mode (LocalExecutor), as the subcommand
//     `rotation-operator runner terraform --sandbox ...` started in new user,
//     mount and PID namespaces: it mounts a fresh /proc, remounts every
//     mount read-only, puts empty tmpfs over /tmp, /var/tmp, /root, /home,
//     $HOME, /run/secrets, /var/run/secrets and the operator's kubeconfig
//     directories, binds back only the scratch dir (read-write) and the
//     submission, lab kubeconfig, provider mirror and terraform binary
//     (read-only), then drops every capability and execs itself again to
//     grade. When the operator runs as root, the sandbox's root maps to an
//     unprivileged uid (65534). Without user namespaces it falls back to a
//     plain subprocess with the same clean environment, logging a warning,
//     and the runner fact says so;
//   - in a cluster, as the same subcommand in a Job in the lab namespace
//     under the learner's ServiceAccount, restricted (JobFor).
//
// # Facts
//
// Collect returns the map CEL sees as the variable terraform
// (map(string, dyn)); Facts lists its keys:
//
//	files             list(string)  submitted files used, sorted
//	ignoredFiles      list(string)  submitted files not used (.terraform.lock.hcl: the lab's provider comes from the mirror)
//	runner            {sandbox}     "namespaces", "none" (no user namespaces: a warning was logged) or "job"
//	precheck          {ok, problems: [{file, line, message}]}
//	backend           {type, secretSuffix, namespace}  type "" without a backend block; namespace is the lab's when type is kubernetes
//	requiredProviders {<local name>: {source, version}}  from terraform { required_providers }
//	variables         {<name>: {type, description, hasDefault, default, sensitive, nullable,
//	                            validations: [{condition, errorMessage}]}}
//	                  type and condition are HCL source text ("list(string)", "var.replicas >= 1");
//	                  default is the literal default (null when it is not a constant)
//	imports           [{to, id}]    import blocks of the configuration
//	formatted         bool          terraform fmt -check found nothing to change
//	unformattedFiles  list(string)
//	init              {ok, message} message is the first error's summary and detail, "" when ok
//	valid             bool          terraform validate passed (false when it could not run)
//	diagnostics       [{stage, severity, summary, detail, file, line}]  stage is init, validate or plan; at most MaxDiagnostics
//	plan              {ok, exitCode, changes: [{address, type, actions, importing}], outputChanges: [name]}
//	                  exitCode is -detailed-exitcode's: 0 nothing to do, 2 changes pending, 1 failed (-1 not run);
//	                  actions are Terraform's: ["create"], ["update"], ["delete","create"], ...; no-op changes are left out
//	drift             [{address, type, actions, attributes}]  objects changed outside Terraform since the last apply
//	                  (found by plan's refresh); attributes are the top-level ones that changed ("data", "spec");
//	                  changes of bookkeeping metadata only (resource_version, generation, uid) are not drift
//	inSync            bool          the plan ran and found nothing to do: applied, and no drift
//	resources         {<address>: {type, name, mode, values, inLab}}  from the state (show -json), values as Terraform stores them,
//	                  sensitive values replaced by "(sensitive)"; at most MaxResources. inLab: plan's refresh ran and did
//	                  not find the resource deleted from the lab (false when the plan did not run). When the state Secret
//	                  was not written by Terraform (its managedFields), each entry is {type, name, mode, inLab: false,
//	                  handWritten: why} instead (state_writer.go; the mentor gets a ToolStorageHandWritten Warning)
//	outputs           {<name>: {value, sensitive}}  from the state; a sensitive output's value is "(sensitive)"
//	lock              {held, id, who, operation, created, message}  the state was locked by someone else for longer
//	                  than the lock timeout (held false otherwise); message says how to release a stale lock
//	error             string        the first thing that stopped grading, "" when every step ran
//
// Numbers are int64 when integral and float64 otherwise, like the other
// collectors. Errors in the learner's configuration are facts, never Go
// errors: Collect returns an error only when the runner itself could not run
// (no terraform, no mirror, the subprocess crashed or timed out).
package terraform
