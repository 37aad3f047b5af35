// Package manifests writes the Kubernetes objects that run an ingress
// binary's image and let it grow past one machine: a Deployment (readiness
// on the status port, drain-aware termination, non-root, read-only root
// filesystem, credentials Secrets mounted where the binary reads them), a
// LoadBalancer Service with the Gateway ports, a HorizontalPodAutoscaler
// and a PodDisruptionBudget; and the Dockerfile of gwc build --dockerfile.
// It also decides the container port of each Gateway port, which the image
// and the Deployment share, and reads the pod labels and credential names
// from the IR's Workload.
package manifests
