package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ports are the loopback ports of one side-by-side run.
type ports struct {
	Backend, GWC, Nginx, HAProxy, Caddy, Status, Admin int
	// GWCTrace1 and GWCTrace100 are the traced gwc targets; OTLP the
	// driver's span sink.
	GWCTrace1, GWCTrace100, OTLP int
	// GWCBase is gwc built by another gwc (-gwc-base), for a comparison
	// of two builds in one run.
	GWCBase int
}

var defaultPorts = ports{Backend: 19000, GWC: 19080, Nginx: 19081, HAProxy: 19082, Caddy: 19083, Status: 19021, Admin: 19015,
	GWCTrace1: 19084, GWCTrace100: 19085, OTLP: 19017, GWCBase: 19086}

// writeScenario writes every target's configuration for s into dir: the
// Istio resources under istio/, nginx.conf, haproxy.cfg with its lists, the
// Caddyfile and the request list for wrk.
func writeScenario(dir string, s scenario, p ports) error {
	files := map[string]string{
		"istio/resources.yaml": istioConfig(s, p),
		"nginx.conf":           nginxConfig(dir, s, p),
		"haproxy.cfg":          haproxyConfig(dir, s, p),
		"Caddyfile":            caddyConfig(dir, s, p),
		"requests.txt":         requestList(s),
	}
	for name, data := range haproxyLists(s) {
		files[name] = data
	}
	if s.TLS {
		if err := writeCert(dir, s); err != nil {
			return err
		}
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			return err
		}
	}
	return os.MkdirAll(filepath.Join(dir, "nginx-tmp"), 0o755)
}

func requestList(s scenario) string {
	var b strings.Builder
	for _, r := range s.Requests {
		fmt.Fprintf(&b, "%s %s\n", r[0], r[1])
	}
	return b.String()
}

// istioHeader is the Gateway and the ServiceEntry of the backend, shared by
// every generated Istio configuration. With tls the Gateway's one server is
// HTTPS on 443, terminating with the credential benchCredential.
func istioHeader(backend int, tls bool) string {
	server := "      number: 80\n      name: http\n      protocol: HTTP\n"
	if tls {
		server = "      number: 443\n      name: https\n      protocol: HTTPS\n    tls:\n      mode: SIMPLE\n      credentialName: " + benchCredential + "\n"
	}
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: bench
  namespace: bench
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
%s    hosts:
    - "*"
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: backend
  namespace: bench
spec:
  hosts:
  - backend.bench.svc.cluster.local
  location: MESH_INTERNAL
  ports:
  - number: 8080
    name: http
    protocol: HTTP
  resolution: STATIC
  endpoints:
  - address: 127.0.0.1
    ports:
      http: %d
`, server, backend)
}

const istioDestination = `    route:
    - destination:
        host: backend
        port:
          number: 8080
`

// istioConfig is one VirtualService per host, each with the scenario's
// routes, as a team per host would write them.
func istioConfig(s scenario, p ports) string {
	var b strings.Builder
	b.WriteString(istioHeader(p.Backend, s.TLS))
	hosts := append([]string{}, s.Exact...)
	for _, w := range s.Wild {
		hosts = append(hosts, "*."+w)
	}
	for i, h := range hosts {
		fmt.Fprintf(&b, "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: vs-%d\n  namespace: bench\nspec:\n  hosts:\n  - %q\n  gateways:\n  - bench\n  http:\n", i, h)
		if len(s.Routes) == 0 {
			b.WriteString("  - match:\n    - uri:\n        prefix: /\n" + istioDestination)
			continue
		}
		for _, r := range s.Routes {
			value := r.Value
			if r.Kind == "regex" {
				value = "^" + value + "$"
			}
			fmt.Fprintf(&b, "  - match:\n    - uri:\n        %s: %q\n%s", r.Kind, value, istioDestination)
		}
	}
	return b.String()
}

// sizeConfig is n VirtualServices, one host each, with an exact, a prefix
// and a regex route and a default: the input of the start-and-size runs.
func sizeConfig(n int, backend int) string {
	var b strings.Builder
	b.WriteString(istioHeader(backend, false))
	for i := range n {
		fmt.Fprintf(&b, `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: vs-%d
  namespace: bench
spec:
  hosts:
  - s%05d.size.example.com
  gateways:
  - bench
  http:
  - match:
    - uri:
        exact: /login
%s  - match:
    - uri:
        prefix: /api/
%s  - match:
    - uri:
        regex: "/items/[0-9]+"
%s  - route:
    - destination:
        host: backend
        port:
          number: 8080
`, i, i, istioDestination, istioDestination, istioDestination)
	}
	return b.String()
}

// nginxConfig is one worker, access log off (Istio's default), upstream
// keep-alive, the headers Istio's gateway adds, server_name per host; with
// TLS, ssl on both listeners with nginx's default protocols and ciphers.
func nginxConfig(dir string, s scenario, p ports) string {
	var b strings.Builder
	tmp := filepath.Join(dir, "nginx-tmp")
	// With TLS both servers listen with ssl and share the certificate,
	// which the default server needs for handshakes naming no host.
	nginxTLS, ssl := "", ""
	if s.TLS {
		c := certPaths(dir)
		nginxTLS = fmt.Sprintf("  ssl_certificate %s;\n  ssl_certificate_key %s;\n  ssl_protocols TLSv1.2 TLSv1.3;\n", c.Cert, c.Key)
		ssl = " ssl"
	}
	fmt.Fprintf(&b, `worker_processes 1;
daemon off;
pid %s;
error_log %s warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %s/body;
  proxy_temp_path %s/proxy;
  fastcgi_temp_path %s/fastcgi;
  uwsgi_temp_path %s/uwsgi;
  scgi_temp_path %s/scgi;
  server_names_hash_max_size 8192;
  server_names_hash_bucket_size 128;
  keepalive_requests 1000000;
  keepalive_timeout 3600s;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host $host;
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Proto $scheme;
  proxy_set_header X-Request-Id $request_id;
  upstream backend {
    server 127.0.0.1:%d;
    keepalive 256;
  }
%s  server {
    listen 127.0.0.1:%d%s default_server;
    server_name _;
    return 404;
  }
  server {
    listen 127.0.0.1:%d%s;
    server_name`, filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "nginx-error.log"), tmp, tmp, tmp, tmp, tmp, p.Backend,
		nginxTLS, p.Nginx, ssl, p.Nginx, ssl)
	for _, h := range s.Exact {
		b.WriteString(" " + h)
	}
	for _, w := range s.Wild {
		b.WriteString(" *." + w)
	}
	b.WriteString(";\n")
	if len(s.Routes) == 0 {
		b.WriteString("    location / { proxy_pass http://backend; }\n")
	}
	for _, r := range s.Routes {
		switch r.Kind {
		case "exact":
			fmt.Fprintf(&b, "    location = %s { proxy_pass http://backend; }\n", r.Value)
		case "prefix":
			// ^~: a prefix match stops the search, as the first matching
			// Istio route does; without it nginx would try every regex.
			fmt.Fprintf(&b, "    location ^~ %s { proxy_pass http://backend; }\n", r.Value)
		case "regex":
			fmt.Fprintf(&b, "    location ~ ^%s$ { proxy_pass http://backend; }\n", r.Value)
		}
	}
	if len(s.Routes) > 0 {
		b.WriteString("    location / { return 404; }\n")
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

// haproxyConfig is one thread, no traffic log (as the others), upstream
// connection reuse (HAProxy's default "safe"), hosts in ACL pattern files
// and routes in map files, as HAProxy's users configure large tables; with
// TLS, ssl on the bind line with HAProxy's default protocols and ciphers.
func haproxyConfig(dir string, s scenario, p ports) string {
	var b strings.Builder
	bindTLS, proto := "", "http"
	if s.TLS {
		// HAProxy reads the certificate and key from one file.
		bindTLS, proto = " ssl crt "+certPaths(dir).Combined+" alpn http/1.1", "https"
	}
	fmt.Fprintf(&b, `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 10s
  timeout client 1h
  timeout server 1h
  timeout http-keep-alive 1h
  option forwardfor
  http-reuse safe
frontend fe
  bind 127.0.0.1:%d%s
  unique-id-format %%{+X}o%%ci:%%cp_%%fi:%%fp_%%Ts_%%rt:%%pid
  http-request set-header X-Request-Id %%[unique-id]
  http-request set-header X-Forwarded-Proto %s
  acl exact_host hdr(host),field(1,:) -i -f %s
`, p.HAProxy, bindTLS, proto, filepath.Join(dir, "haproxy-hosts.lst"))
	cond := "exact_host"
	if len(s.Wild) > 0 {
		fmt.Fprintf(&b, "  acl wild_host hdr(host),field(1,:) -i -m end -f %s\n", filepath.Join(dir, "haproxy-wild.lst"))
		cond += " || wild_host"
	}
	fmt.Fprintf(&b, "  http-request return status 404 unless %s\n", cond)
	if len(s.Routes) > 0 {
		fmt.Fprintf(&b, "  http-request set-var(txn.route) path,map_str(%s)\n", filepath.Join(dir, "haproxy-exact.map"))
		fmt.Fprintf(&b, "  http-request set-var(txn.route) path,map_beg(%s) unless { var(txn.route) -m found }\n", filepath.Join(dir, "haproxy-prefix.map"))
		fmt.Fprintf(&b, "  http-request set-var(txn.route) path,map_reg(%s) unless { var(txn.route) -m found }\n", filepath.Join(dir, "haproxy-regex.map"))
		b.WriteString("  http-request return status 404 unless { var(txn.route) -m found }\n")
	}
	fmt.Fprintf(&b, "  default_backend be\nbackend be\n  server backend 127.0.0.1:%d\n", p.Backend)
	return b.String()
}

func haproxyLists(s scenario) map[string]string {
	var hosts, wild strings.Builder
	for _, h := range s.Exact {
		hosts.WriteString(h + "\n")
	}
	for _, w := range s.Wild {
		wild.WriteString("." + w + "\n")
	}
	maps := map[string]*strings.Builder{"exact": {}, "prefix": {}, "regex": {}}
	for i, r := range s.Routes {
		v := r.Value
		if r.Kind == "regex" {
			v = "^" + v + "$"
		}
		fmt.Fprintf(maps[r.Kind], "%s r%d\n", v, i)
	}
	return map[string]string{
		"haproxy-hosts.lst":  hosts.String(),
		"haproxy-wild.lst":   wild.String(),
		"haproxy-exact.map":  maps["exact"].String(),
		"haproxy-prefix.map": maps["prefix"].String(),
		"haproxy-regex.map":  maps["regex"].String(),
	}
}

// caddyConfig is one site for all hosts, no access log (Caddy's default),
// reverse_proxy with its default keep-alive pool and a request ID header;
// with TLS, https:// site addresses and the certificate given by tls (no
// automatic certificates: auto_https stays off).
func caddyConfig(dir string, s scenario, p ports) string {
	var b strings.Builder
	b.WriteString("{\n  admin off\n  auto_https off\n}\n")
	scheme := "http"
	if s.TLS {
		scheme = "https"
	}
	var addrs []string
	for _, h := range s.Exact {
		addrs = append(addrs, fmt.Sprintf("%s://%s:%d", scheme, h, p.Caddy))
	}
	for _, w := range s.Wild {
		addrs = append(addrs, fmt.Sprintf("%s://*.%s:%d", scheme, w, p.Caddy))
	}
	b.WriteString(strings.Join(addrs, ", "))
	b.WriteString(" {\n  bind 127.0.0.1\n")
	if s.TLS {
		c := certPaths(dir)
		fmt.Fprintf(&b, "  tls %s %s\n", c.Cert, c.Key)
	}
	proxy := func(matcher string) string {
		return fmt.Sprintf("    reverse_proxy %s127.0.0.1:%d {\n      header_up X-Request-Id {http.request.uuid}\n    }\n", matcher, p.Backend)
	}
	if len(s.Routes) == 0 {
		b.WriteString("  route {\n" + proxy("") + "  }\n}\n")
		return b.String()
	}
	var exact, prefix []string
	for _, r := range s.Routes {
		switch r.Kind {
		case "exact":
			exact = append(exact, r.Value)
		case "prefix":
			prefix = append(prefix, r.Value+"*")
		}
	}
	fmt.Fprintf(&b, "  @exact path %s\n  @prefix path %s\n", strings.Join(exact, " "), strings.Join(prefix, " "))
	for i, r := range s.Routes {
		if r.Kind == "regex" {
			fmt.Fprintf(&b, "  @r%d path_regexp ^%s$\n", i, r.Value)
		}
	}
	b.WriteString("  route {\n" + proxy("@exact ") + proxy("@prefix "))
	for i, r := range s.Routes {
		if r.Kind == "regex" {
			b.WriteString(proxy(fmt.Sprintf("@r%d ", i)))
		}
	}
	b.WriteString("    respond 404\n  }\n}\n")
	return b.String()
}
