// Package image packs ingress binaries into OCI images without Docker:
// by default a scratch base with a CA bundle and the binary, run as a
// non-root user; one image per platform, an image index for several. It
// writes them as archives that docker load and podman load accept, as OCI
// image layouts, or pushes them to a registry with the user's credential
// helpers. Everything that goes into an image is fixed by its inputs (file
// times, owners, order, the creation time from SOURCE_DATE_EPOCH or the
// Unix epoch), so the same binaries give the same digest on any machine
// with the same CA bundle.
package image
