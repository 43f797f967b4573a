package labs

import "testing"

// Grading tables of the kubernetes track. The solved labs are shaped like
// the apiserver returns the objects: server-set metadata (stripped by the
// collector), defaults, and a status as the controllers write it.

func init() {
	gradingTables["scale-and-expose"] = scaleAndExpose
	gradingTables["fix-broken-deployment"] = fixBrokenDeployment
	gradingTables["configmap-rollout"] = configMapRollout
}

// deploymentStatus is the status of a Deployment whose rollout finished
// with n available replicas.
func deploymentStatus(n string) string {
	return `
status:
  observedGeneration: 2
  replicas: ` + n + `
  updatedReplicas: ` + n + `
  readyReplicas: ` + n + `
  availableReplicas: ` + n + `
  conditions:
  - type: Available
    status: "True"
    reason: MinimumReplicasAvailable
    message: Deployment has minimum availability.
    lastUpdateTime: "2026-03-01T10:00:00Z"
    lastTransitionTime: "2026-03-01T10:00:00Z"
  - type: Progressing
    status: "True"
    reason: NewReplicaSetAvailable
    message: ReplicaSet has successfully progressed.
    lastUpdateTime: "2026-03-01T10:00:00Z"
    lastTransitionTime: "2026-03-01T09:58:00Z"
`
}

// serverMetadata is what the apiserver adds to metadata; the collector strips it.
const serverMetadata = `
  namespace: lab-x
  uid: 6f1c1a52-8c1e-4c38-9d1c-1f5a3c0e2b11
  resourceVersion: "4242"
  generation: 2
  creationTimestamp: "2026-03-01T09:55:00Z"
  managedFields:
  - manager: kubectl
    operation: Update
    apiVersion: apps/v1`

const restrictedPod = `
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        seccompProfile:
          type: RuntimeDefault`

const restrictedContainer = `
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]`

const podDefaults = `
      restartPolicy: Always
      terminationGracePeriodSeconds: 30
      dnsPolicy: ClusterFirst
      schedulerName: default-scheduler`

var scaleAndExpose = gradingTable{
	solved: []string{`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web` + serverMetadata + `
  labels:
    app: web
    rotations.handson.dev/exercise: scale-and-expose
    rotations.handson.dev/rotation: x
  annotations:
    deployment.kubernetes.io/revision: "1"
spec:
  replicas: 3
  revisionHistoryLimit: 10
  progressDeadlineSeconds: 600
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 25%
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:` + restrictedPod + podDefaults + `
      containers:
      - name: web
        image: rotation.local/web:1.0
        imagePullPolicy: IfNotPresent
        ports:
        - name: http
          containerPort: 8080
          protocol: TCP
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File` + restrictedContainer + deploymentStatus("3"), `
apiVersion: v1
kind: Service
metadata:
  name: web` + serverMetadata + `
  labels:
    app: web
spec:
  type: ClusterIP
  clusterIP: 10.96.14.7
  clusterIPs: [10.96.14.7]
  ipFamilies: [IPv4]
  ipFamilyPolicy: SingleStack
  internalTrafficPolicy: Cluster
  sessionAffinity: None
  selector:
    app: web
  ports:
  - port: 80
    protocol: TCP
    targetPort: 8080
status:
  loadBalancer: {}
`},
	cases: []gradingCase{{
		name: "service targets the named port http",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "Service/web"), "[{name: web, port: 80, protocol: TCP, targetPort: http}]", "spec", "ports")
		},
	}, {
		name: "more pods available during a rollout",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "Deployment/web"), "4", "status", "availableReplicas")
		},
	}, {
		name:    "starter as created",
		starter: true,
		failing: []string{"three-replicas", "replicas-available", "service-clusterip", "service-selects-web", "service-port"},
	}, {
		name:    "deployment deleted",
		mutate:  func(t *testing.T, l labObjects) { delete(l, "Deployment/web") },
		failing: []string{"deployment-exists", "three-replicas", "replicas-available", "service-selects-web"},
	}, {
		name: "still one replica",
		mutate: func(t *testing.T, l labObjects) {
			d := l.get(t, "Deployment/web")
			set(t, d, "1", "spec", "replicas")
			set(t, d, "1", "status", "availableReplicas")
		},
		failing: []string{"three-replicas", "replicas-available"},
	}, {
		name:    "replicas unset",
		mutate:  func(t *testing.T, l labObjects) { del(l.get(t, "Deployment/web"), "spec", "replicas") },
		failing: []string{"three-replicas"},
	}, {
		name: "two of three pods available",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "Deployment/web"), "2", "status", "availableReplicas")
		},
		failing: []string{"replicas-available"},
	}, {
		name:    "no pod available: availableReplicas is omitted",
		mutate:  func(t *testing.T, l labObjects) { del(l.get(t, "Deployment/web"), "status", "availableReplicas") },
		failing: []string{"replicas-available"},
	}, {
		name:    "no status yet",
		mutate:  func(t *testing.T, l labObjects) { del(l.get(t, "Deployment/web"), "status") },
		failing: []string{"replicas-available"},
	}, {
		name:    "no service",
		mutate:  func(t *testing.T, l labObjects) { delete(l, "Service/web") },
		failing: []string{"service-clusterip", "service-selects-web", "service-port"},
	}, {
		name: "service with another name",
		mutate: func(t *testing.T, l labObjects) {
			svc := l.get(t, "Service/web")
			delete(l, "Service/web")
			set(t, svc, "web-svc", "metadata", "name")
			l["Service/web-svc"] = svc
		},
		failing: []string{"service-clusterip", "service-selects-web", "service-port"},
	}, {
		name:    "NodePort service",
		mutate:  func(t *testing.T, l labObjects) { set(t, l.get(t, "Service/web"), "NodePort", "spec", "type") },
		failing: []string{"service-clusterip"},
	}, {
		name:    "selector of another app",
		mutate:  func(t *testing.T, l labObjects) { set(t, l.get(t, "Service/web"), "{app: api}", "spec", "selector") },
		failing: []string{"service-selects-web"},
	}, {
		name: "selector with a label the pods lack",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "Service/web"), "{app: web, tier: frontend}", "spec", "selector")
		},
		failing: []string{"service-selects-web"},
	}, {
		name:    "service without a selector",
		mutate:  func(t *testing.T, l labObjects) { del(l.get(t, "Service/web"), "spec", "selector") },
		failing: []string{"service-selects-web"},
	}, {
		name: "service port 8080",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "Service/web"), "[{port: 8080, protocol: TCP, targetPort: 8080}]", "spec", "ports")
		},
		failing: []string{"service-port"},
	}, {
		name: "service targets port 80",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "Service/web"), "[{port: 80, protocol: TCP, targetPort: 80}]", "spec", "ports")
		},
		failing: []string{"service-port"},
	}, {
		name: "service targets a port name the pods lack",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "Service/web"), "[{port: 80, protocol: TCP, targetPort: web}]", "spec", "ports")
		},
		failing: []string{"service-port"},
	}},
}

var fixBrokenDeployment = gradingTable{
	solved: []string{`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api` + serverMetadata + `
  labels:
    app: api
  annotations:
    deployment.kubernetes.io/revision: "3"
spec:
  replicas: 1
  revisionHistoryLimit: 10
  progressDeadlineSeconds: 600
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 25%
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:` + restrictedPod + podDefaults + `
      containers:
      - name: api
        image: rotation.local/web:1.0
        imagePullPolicy: IfNotPresent
        ports:
        - name: http
          containerPort: 8080
          protocol: TCP
        readinessProbe:
          httpGet:
            path: /readyz
            port: 8080
            scheme: HTTP
          periodSeconds: 10
          timeoutSeconds: 1
          successThreshold: 1
          failureThreshold: 3
        resources:
          requests:
            cpu: 50m
            memory: 64Mi
          limits:
            cpu: 200m
            memory: 128Mi
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File` + restrictedContainer + deploymentStatus("1"),
	},
	cases: []gradingCase{{
		name: "image pinned by digest too",
		mutate: func(t *testing.T, l labObjects) {
			container(t, l.get(t, "Deployment/api"), 0)["image"] = "rotation.local/web:1.0@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		},
	}, {
		name: "a digest that is not one",
		mutate: func(t *testing.T, l labObjects) {
			container(t, l.get(t, "Deployment/api"), 0)["image"] = "rotation.local/web:1.0@sha256:0123"
		},
		failing: []string{"image-pinned"},
	}, {
		name: "another version",
		mutate: func(t *testing.T, l labObjects) {
			container(t, l.get(t, "Deployment/api"), 0)["image"] = "rotation.local/web:1.1"
		},
		failing: []string{"image-pinned"},
	}, {
		name: "probe on the named port, with a sidecar",
		mutate: func(t *testing.T, l labObjects) {
			d := l.get(t, "Deployment/api")
			set(t, container(t, d, 0), "{httpGet: {path: /readyz, port: http, scheme: HTTP}}", "readinessProbe")
			containers := d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
			containers["containers"] = append([]any{fromYAML(t, "{name: log, image: rotation.local/web:1.0, args: [sleep, infinity]}")}, containers["containers"].([]any)...)
		},
	}, {
		name:    "starter as created",
		starter: true,
		failing: []string{"image-pinned", "readiness-probe", "resources-set", "rollout-available"},
	}, {
		name: "starter, image pull failing",
		objects: []string{`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 1
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
      - name: api
        image: rotation.local/web:1.0-doesnotexist
status:
  observedGeneration: 1
  replicas: 1
  updatedReplicas: 1
  unavailableReplicas: 1
  conditions:
  - type: Available
    status: "False"
    reason: MinimumReplicasUnavailable
  - type: Progressing
    status: "True"
    reason: ReplicaSetUpdated
`},
		failing: []string{"image-pinned", "readiness-probe", "resources-set", "rollout-available"},
	}, {
		name:    "deployment deleted",
		mutate:  func(t *testing.T, l labObjects) { delete(l, "Deployment/api") },
		failing: []string{"deployment-exists", "image-pinned", "readiness-probe", "resources-set", "rollout-available"},
	}, {
		name: "latest tag",
		mutate: func(t *testing.T, l labObjects) {
			container(t, l.get(t, "Deployment/api"), 0)["image"] = "rotation.local/web:latest"
		},
		failing: []string{"image-pinned"},
	}, {
		name: "no tag",
		mutate: func(t *testing.T, l labObjects) {
			container(t, l.get(t, "Deployment/api"), 0)["image"] = "rotation.local/web"
		},
		failing: []string{"image-pinned"},
	}, {
		name: "the broken tag",
		mutate: func(t *testing.T, l labObjects) {
			container(t, l.get(t, "Deployment/api"), 0)["image"] = "rotation.local/web:1.0-doesnotexist"
		},
		failing: []string{"image-pinned"},
	}, {
		name: "the same name in another registry",
		mutate: func(t *testing.T, l labObjects) {
			container(t, l.get(t, "Deployment/api"), 0)["image"] = "registry.example.com/web:1.0"
		},
		failing: []string{"image-pinned"},
	}, {
		name:    "container renamed",
		mutate:  func(t *testing.T, l labObjects) { container(t, l.get(t, "Deployment/api"), 0)["name"] = "app" },
		failing: []string{"image-pinned", "readiness-probe", "resources-set"},
	}, {
		name: "no readiness probe",
		mutate: func(t *testing.T, l labObjects) {
			delete(container(t, l.get(t, "Deployment/api"), 0), "readinessProbe")
		},
		failing: []string{"readiness-probe"},
	}, {
		name: "liveness probe instead",
		mutate: func(t *testing.T, l labObjects) {
			c := container(t, l.get(t, "Deployment/api"), 0)
			c["livenessProbe"] = c["readinessProbe"]
			delete(c, "readinessProbe")
		},
		failing: []string{"readiness-probe"},
	}, {
		name: "tcp readiness probe",
		mutate: func(t *testing.T, l labObjects) {
			set(t, container(t, l.get(t, "Deployment/api"), 0), "{tcpSocket: {port: 8080}}", "readinessProbe")
		},
		failing: []string{"readiness-probe"},
	}, {
		name: "probe on port 80",
		mutate: func(t *testing.T, l labObjects) {
			set(t, container(t, l.get(t, "Deployment/api"), 0), "80", "readinessProbe", "httpGet", "port")
		},
		failing: []string{"readiness-probe"},
	}, {
		name:    "no resources",
		mutate:  func(t *testing.T, l labObjects) { delete(container(t, l.get(t, "Deployment/api"), 0), "resources") },
		failing: []string{"resources-set"},
	}, {
		name: "requests only",
		mutate: func(t *testing.T, l labObjects) {
			del(container(t, l.get(t, "Deployment/api"), 0), "resources", "limits")
		},
		failing: []string{"resources-set"},
	}, {
		name: "no memory limit",
		mutate: func(t *testing.T, l labObjects) {
			del(container(t, l.get(t, "Deployment/api"), 0), "resources", "limits", "memory")
		},
		failing: []string{"resources-set"},
	}, {
		name: "no cpu request",
		mutate: func(t *testing.T, l labObjects) {
			del(container(t, l.get(t, "Deployment/api"), 0), "resources", "requests", "cpu")
		},
		failing: []string{"resources-set"},
	}, {
		name: "not available",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "Deployment/api"), `[{type: Available, status: "False", reason: MinimumReplicasUnavailable}]`, "status", "conditions")
			del(l.get(t, "Deployment/api"), "status", "availableReplicas")
		},
		failing: []string{"rollout-available"},
	}, {
		name: "available, but the new version is not ready",
		mutate: func(t *testing.T, l labObjects) {
			d := l.get(t, "Deployment/api")
			set(t, d, "2", "status", "replicas")
			set(t, d, "1", "status", "updatedReplicas")
			set(t, d, "1", "status", "unavailableReplicas")
		},
		failing: []string{"rollout-available"},
	}, {
		name:    "no status yet",
		mutate:  func(t *testing.T, l labObjects) { del(l.get(t, "Deployment/api"), "status") },
		failing: []string{"rollout-available"},
	}, {
		name: "scaled to zero",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "Deployment/api"), "{observedGeneration: 3, conditions: [{type: Available, status: \"True\"}]}", "status")
		},
		failing: []string{"rollout-available"},
	}},
}

var configMapRollout = gradingTable{
	solved: []string{`
apiVersion: v1
kind: ConfigMap
metadata:
  name: greeter-config` + serverMetadata + `
data:
  GREETING: hello, rotation
`, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: exercise-configmap-rollout
  labels:
    app.kubernetes.io/managed-by: rotation-operator
data:
  instructions.md: "# Configure a Deployment"
`, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: greeter` + serverMetadata + `
  labels:
    app: greeter
spec:
  replicas: 2
  revisionHistoryLimit: 10
  progressDeadlineSeconds: 600
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  selector:
    matchLabels:
      app: greeter
  template:
    metadata:
      labels:
        app: greeter
    spec:` + restrictedPod + podDefaults + `
      containers:
      - name: greeter
        image: rotation.local/web:1.0
        envFrom:
        - configMapRef:
            name: greeter-config
        ports:
        - name: http
          containerPort: 8080
          protocol: TCP` + restrictedContainer + deploymentStatus("2"),
	},
	cases: []gradingCase{{
		name: "maxUnavailable 0%",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "Deployment/greeter"), "'0%'", "spec", "strategy", "rollingUpdate", "maxUnavailable")
		},
	}, {
		name: "envFrom in the second container, with a prefix",
		mutate: func(t *testing.T, l labObjects) {
			spec := l.get(t, "Deployment/greeter")["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
			spec["containers"] = append([]any{fromYAML(t, "{name: sidecar, image: rotation.local/web:1.0, args: [sleep, infinity], envFrom: [{secretRef: {name: s}}]}")}, spec["containers"].([]any)...)
			set(t, container(t, l.get(t, "Deployment/greeter"), 1), "[{prefix: APP_, configMapRef: {name: greeter-config}}]", "envFrom")
		},
	}, {
		name:    "the skeleton file as applied",
		starter: true,
		failing: []string{"configmap-greeting", "two-replicas", "env-from-configmap", "rolling-update-no-downtime", "rollout-complete"},
	}, {
		name:    "no configmap",
		mutate:  func(t *testing.T, l labObjects) { delete(l, "ConfigMap/greeter-config") },
		failing: []string{"configmap-greeting"},
	}, {
		name: "greeting capitalised",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "ConfigMap/greeter-config"), "Hello, rotation", "data", "GREETING")
		},
		failing: []string{"configmap-greeting"},
	}, {
		name: "greeting under another key",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "ConfigMap/greeter-config"), "{greeting: 'hello, rotation'}", "data")
		},
		failing: []string{"configmap-greeting"},
	}, {
		name:    "configmap without data",
		mutate:  func(t *testing.T, l labObjects) { del(l.get(t, "ConfigMap/greeter-config"), "data") },
		failing: []string{"configmap-greeting"},
	}, {
		name:    "no deployment",
		mutate:  func(t *testing.T, l labObjects) { delete(l, "Deployment/greeter") },
		failing: []string{"two-replicas", "env-from-configmap", "rolling-update-no-downtime", "rollout-complete"},
	}, {
		name: "three replicas, rolled out",
		mutate: func(t *testing.T, l labObjects) {
			d := l.get(t, "Deployment/greeter")
			set(t, d, "3", "spec", "replicas")
			for _, f := range []string{"replicas", "updatedReplicas", "readyReplicas", "availableReplicas"} {
				set(t, d, "3", "status", f)
			}
		},
		failing: []string{"two-replicas"},
	}, {
		name:    "no envFrom",
		mutate:  func(t *testing.T, l labObjects) { delete(container(t, l.get(t, "Deployment/greeter"), 0), "envFrom") },
		failing: []string{"env-from-configmap"},
	}, {
		name: "envFrom another configmap",
		mutate: func(t *testing.T, l labObjects) {
			set(t, container(t, l.get(t, "Deployment/greeter"), 0), "[{configMapRef: {name: greeter}}]", "envFrom")
		},
		failing: []string{"env-from-configmap"},
	}, {
		name: "a single key with env valueFrom",
		mutate: func(t *testing.T, l labObjects) {
			c := container(t, l.get(t, "Deployment/greeter"), 0)
			delete(c, "envFrom")
			set(t, c, "[{name: GREETING, valueFrom: {configMapKeyRef: {name: greeter-config, key: GREETING}}}]", "env")
		},
		failing: []string{"env-from-configmap"},
	}, {
		name: "envFrom a secret",
		mutate: func(t *testing.T, l labObjects) {
			set(t, container(t, l.get(t, "Deployment/greeter"), 0), "[{secretRef: {name: greeter-config}}]", "envFrom")
		},
		failing: []string{"env-from-configmap"},
	}, {
		name: "Recreate strategy",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "Deployment/greeter"), "{type: Recreate}", "spec", "strategy")
		},
		failing: []string{"rolling-update-no-downtime"},
	}, {
		name: "default rolling update",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "Deployment/greeter"), "'25%'", "spec", "strategy", "rollingUpdate", "maxUnavailable")
		},
		failing: []string{"rolling-update-no-downtime"},
	}, {
		name: "maxUnavailable 1",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "Deployment/greeter"), "1", "spec", "strategy", "rollingUpdate", "maxUnavailable")
		},
		failing: []string{"rolling-update-no-downtime"},
	}, {
		name: "rollout in progress: a surge pod not ready yet",
		mutate: func(t *testing.T, l labObjects) {
			d := l.get(t, "Deployment/greeter")
			set(t, d, "3", "status", "replicas")
			set(t, d, "1", "status", "updatedReplicas")
			set(t, d, "1", "status", "unavailableReplicas")
		},
		failing: []string{"rollout-complete"},
	}, {
		name: "updated but one pod not available",
		mutate: func(t *testing.T, l labObjects) {
			d := l.get(t, "Deployment/greeter")
			set(t, d, "1", "status", "availableReplicas")
			set(t, d, "1", "status", "readyReplicas")
		},
		failing: []string{"rollout-complete"},
	}, {
		name:    "not observed by the controller yet",
		mutate:  func(t *testing.T, l labObjects) { del(l.get(t, "Deployment/greeter"), "status") },
		failing: []string{"rollout-complete"},
	}},
}
