package load

import (
	"cmp"
	"time"

	"cuelang.org/go/cue"
)

// CompareCreation orders resources as istiod orders VirtualServices before
// merging them (pilot/pkg/model/config.go, configCompareByCreationTime):
// by metadata.creationTimestamp, then name, then namespace. Files written
// by hand have no timestamp, so name and namespace decide; a dump of a
// cluster (kubectl get -o yaml) keeps the cluster's order, and a resource
// without a timestamp among them counts as created last, as it would be
// if applied now.
func CompareCreation(a, b *Resource) int {
	return cmp.Or(creationTime(a).Compare(creationTime(b)), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Namespace, b.Namespace))
}

// notCreated sorts after every creation time.
var notCreated = time.Unix(1<<62, 0)

// creationTime is r's metadata.creationTimestamp, notCreated when it is
// absent or not RFC 3339 (the Kubernetes API writes it so).
func creationTime(r *Resource) time.Time {
	s, err := r.Value.LookupPath(creationTimestamp).String()
	if err != nil {
		return notCreated
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return notCreated
	}
	return t
}

var creationTimestamp = cue.ParsePath("metadata.creationTimestamp")
