package kubeapi

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
)

func service(ns, name string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
}

// TestServicesByName: client-go's typed client lists and watches Services
// with a field selector on metadata.name and sees only that one.
func TestServicesByName(t *testing.T) {
	s := Start(t)
	s.Set(service("shop", "catalog"))
	s.Set(service("shop", "orders"))
	s.Set(service("other", "catalog"))
	client, err := corev1client.NewForConfig(&rest.Config{Host: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	api := client.Services("shop")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := metav1.ListOptions{FieldSelector: "metadata.name=catalog"}
	list, err := api.List(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "catalog" || list.Items[0].Namespace != "shop" {
		t.Fatalf("list: %+v, want shop/catalog alone", list.Items)
	}
	opts.ResourceVersion = list.ResourceVersion
	w, err := api.Watch(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	s.Set(service("shop", "orders"))
	changed := service("shop", "catalog")
	changed.Spec.Ports[0].Port = 8000
	s.Set(changed)
	select {
	case e := <-w.ResultChan():
		svc, ok := e.Object.(*corev1.Service)
		if e.Type != watch.Modified || !ok || svc.Name != "catalog" || svc.Spec.Ports[0].Port != 8000 {
			t.Fatalf("first event: %s %+v, want catalog MODIFIED with port 8000", e.Type, e.Object)
		}
	case <-ctx.Done():
		t.Fatal("no event")
	}
	if _, err := api.List(ctx, metav1.ListOptions{FieldSelector: "spec.clusterIP=None"}); err == nil {
		t.Error("a field the server does not select by was accepted")
	}
}
