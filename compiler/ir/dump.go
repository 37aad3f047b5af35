package ir

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Dump renders cfg as indented text, for golden tests and bug reports
// (gwc build --dump-ir).
func Dump(cfg *Config) string {
	var b strings.Builder
	p := func(indent int, format string, args ...any) {
		b.WriteString(strings.Repeat("  ", indent))
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	p(0, "digest %s", cfg.Digest)
	for _, s := range cfg.Sources {
		p(0, "source %s", s)
	}
	for _, l := range cfg.Listeners {
		p(0, "listener %s %s", net.JoinHostPort(l.Bind, strconv.Itoa(l.Port)), l.Protocol)
		for _, s := range l.Servers {
			p(1, "server %s", s)
		}
		for _, r := range l.L4 {
			p(1, "l4 route %s%s", r.Origin, dumpSNI(r.SNI))
			for _, d := range r.Destinations {
				p(2, "-> %s weight %d", cfg.Clusters[d.Cluster].Name, d.Weight)
			}
		}
		for i, t := range l.TLS {
			p(1, "tls %d %s sni %s%s", i, t.Mode, strings.Join(t.SNI, ","), dumpTLS(t))
			if t.TCP != nil {
				p(2, "tcp route %s", t.TCP.Origin)
				for _, d := range t.TCP.Destinations {
					p(3, "-> %s weight %d", cfg.Clusters[d.Cluster].Name, d.Weight)
				}
			}
		}
		for _, vh := range l.VirtualHosts {
			p(1, "vhost %s%s", vh.Domain, dumpVHostTLS(vh))
			for _, r := range vh.Routes {
				p(2, "route %s", r.Origin)
				for _, m := range r.Matches {
					p(3, "match%s", dumpMatch(m))
				}
				for _, d := range r.Destinations {
					p(3, "-> %s weight %d", cfg.Clusters[d.Cluster].Name, d.Weight)
				}
			}
		}
	}
	for _, c := range cfg.Clusters {
		kind := "static"
		if c.Resolve {
			kind = "dns"
		}
		p(0, "cluster %s %s", c.Name, kind)
		if c.Origin != nil {
			p(1, "from %s", c.Origin)
		}
		if c.HTTP2 {
			p(1, "protocol h2c")
		}
		for _, e := range c.Endpoints {
			p(1, "endpoint %s weight %d", net.JoinHostPort(e.Host, strconv.Itoa(e.Port)), e.Weight)
		}
	}
	return b.String()
}

func dumpMatch(m Match) string {
	var b strings.Builder
	one := func(what string, s StringMatch) {
		if s.Kind == "" {
			return
		}
		fmt.Fprintf(&b, " %s %s", what, s.Kind)
		if s.Kind != "present" {
			fmt.Fprintf(&b, " %q", s.Value)
		}
	}
	one("uri", m.URI)
	one("method", m.Method)
	for _, h := range m.Headers {
		one("header "+h.Name, h.Match)
	}
	if b.Len() == 0 {
		return " any"
	}
	return b.String()
}

func dumpTLS(t ServerTLS) string {
	var b strings.Builder
	if t.CredentialName != "" {
		fmt.Fprintf(&b, " credential %s", t.CredentialName)
	}
	for _, f := range [][2]string{{"cert", t.ServerCertificate}, {"key", t.PrivateKey}, {"ca", t.CACertificates}} {
		if f[1] != "" {
			fmt.Fprintf(&b, " %s %s", f[0], f[1])
		}
	}
	for _, n := range t.CredentialNames {
		fmt.Fprintf(&b, " credential %s", n)
	}
	for _, p := range t.Certificates {
		fmt.Fprintf(&b, " cert %s key %s", p.Certificate, p.Key)
	}
	if t.CRL != "" {
		fmt.Fprintf(&b, " crl %s", t.CRL)
	}
	if t.InsecureSkipVerify {
		b.WriteString(" insecure-skip-verify")
	}
	if t.CACredentialName != "" {
		fmt.Fprintf(&b, " ca-credential %s", t.CACredentialName)
	}
	if len(t.SubjectAltNames) > 0 {
		fmt.Fprintf(&b, " san %s", strings.Join(t.SubjectAltNames, ","))
	}
	if n := len(t.VerifyCertificateSpki) + len(t.VerifyCertificateHash); n > 0 {
		fmt.Fprintf(&b, " pins %d", n)
	}
	if t.MinVersion != 0 || t.MaxVersion != 0 {
		fmt.Fprintf(&b, " versions %#x-%#x", t.MinVersion, t.MaxVersion)
	}
	for _, c := range t.CipherSuites {
		fmt.Fprintf(&b, " cipher %#04x", c)
	}
	return b.String()
}

func dumpVHostTLS(vh VirtualHost) string {
	var b strings.Builder
	if vh.HTTPSRedirect {
		b.WriteString(" https-redirect")
	}
	if len(vh.TLSServers) > 0 {
		fmt.Fprintf(&b, " tls-servers %v", vh.TLSServers)
	}
	return b.String()
}

func dumpSNI(sni []string) string {
	if len(sni) == 0 {
		return ""
	}
	return " sni " + strings.Join(sni, ",")
}
