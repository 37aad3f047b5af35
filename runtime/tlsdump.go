package runtime

// What /config_dump says about TLS servers and connection routes: where
// each credential is read from, never its contents.
type (
	dumpServerTLS struct {
		ID                string   `json:"id"`
		SNI               []string `json:"sni,omitempty"`
		Mode              string   `json:"mode"`
		CredentialName    string   `json:"credentialName,omitempty"`
		ServerCertificate string   `json:"serverCertificate,omitempty"`
		PrivateKey        string   `json:"privateKey,omitempty"`
		CACertificates    string   `json:"caCertificates,omitempty"`
		SubjectAltNames   []string `json:"subjectAltNames,omitempty"`
		MinVersion        uint16   `json:"minVersion,omitempty"`
		MaxVersion        uint16   `json:"maxVersion,omitempty"`
	}
	dumpL4Route struct {
		ID       string         `json:"id"`
		SNI      []string       `json:"sni,omitempty"`
		Clusters []dumpWeighted `json:"clusters"`
	}
)

func dumpTLSOf(l *Listener) []dumpServerTLS {
	var out []dumpServerTLS
	for _, s := range l.TLS {
		out = append(out, dumpServerTLS{ID: s.ID, SNI: s.SNI, Mode: s.Mode.String(), CredentialName: s.CredentialName,
			ServerCertificate: s.ServerCertificate, PrivateKey: s.PrivateKey, CACertificates: s.CACertificates,
			SubjectAltNames: s.SubjectAltNames, MinVersion: s.MinVersion, MaxVersion: s.MaxVersion})
	}
	return out
}

func dumpL4Of(l *Listener, clusterName func(int) string) []dumpL4Route {
	var out []dumpL4Route
	for _, r := range l.L4 {
		d := dumpL4Route{ID: r.ID, SNI: r.SNI, Clusters: []dumpWeighted{}}
		for _, wc := range r.Clusters {
			d.Clusters = append(d.Clusters, dumpWeighted{clusterName(wc.Cluster), wc.Weight})
		}
		out = append(out, d)
	}
	return out
}
