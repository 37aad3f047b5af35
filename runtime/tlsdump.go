package runtime

// What /config_dump says about TLS servers and connection routes: where
// each credential is read from, never its contents.
type (
	dumpServerTLS struct {
		ID                    string             `json:"id"`
		SNI                   []string           `json:"sni,omitempty"`
		Mode                  string             `json:"mode"`
		CredentialName        string             `json:"credentialName,omitempty"`
		ServerCertificate     string             `json:"serverCertificate,omitempty"`
		PrivateKey            string             `json:"privateKey,omitempty"`
		CACertificates        string             `json:"caCertificates,omitempty"`
		CredentialNames       []string           `json:"credentialNames,omitempty"`
		Certificates          []CertificateFiles `json:"certificates,omitempty"`
		CACredentialName      string             `json:"caCredentialName,omitempty"`
		CRL                   string             `json:"crl,omitempty"`
		InsecureSkipVerify    bool               `json:"insecureSkipVerify,omitempty"`
		SubjectAltNames       []string           `json:"subjectAltNames,omitempty"`
		VerifyCertificateSpki []string           `json:"verifyCertificateSpki,omitempty"`
		VerifyCertificateHash []string           `json:"verifyCertificateHash,omitempty"`
		MinVersion            uint16             `json:"minVersion,omitempty"`
		MaxVersion            uint16             `json:"maxVersion,omitempty"`
		CipherSuites          []uint16           `json:"cipherSuites,omitempty"`
		// TCP is the connection route of a server that terminates TLS
		// for a VirtualService tcp rule.
		TCP *dumpL4Route `json:"tcp,omitempty"`
	}
	dumpL4Route struct {
		ID       string         `json:"id"`
		SNI      []string       `json:"sni,omitempty"`
		Clusters []dumpWeighted `json:"clusters"`
	}
)

func dumpTLSOf(l *Listener, clusterName func(int) string) []dumpServerTLS {
	var out []dumpServerTLS
	for _, s := range l.TLS {
		d := dumpServerTLS{ID: s.ID, SNI: s.SNI, Mode: s.Mode.String(), CredentialName: s.CredentialName,
			ServerCertificate: s.ServerCertificate, PrivateKey: s.PrivateKey, CACertificates: s.CACertificates,
			CredentialNames: s.CredentialNames, Certificates: s.Certificates, CACredentialName: s.CACredentialName,
			CRL: s.CRL, InsecureSkipVerify: s.InsecureSkipVerify, SubjectAltNames: s.SubjectAltNames,
			VerifyCertificateSpki: s.VerifyCertificateSpki, VerifyCertificateHash: s.VerifyCertificateHash,
			MinVersion: s.MinVersion, MaxVersion: s.MaxVersion, CipherSuites: s.CipherSuites}
		if s.TCP != nil {
			r := dumpL4RouteOf(s.TCP, clusterName)
			d.TCP = &r
		}
		out = append(out, d)
	}
	return out
}

func dumpL4Of(l *Listener, clusterName func(int) string) []dumpL4Route {
	var out []dumpL4Route
	for i := range l.L4 {
		out = append(out, dumpL4RouteOf(&l.L4[i], clusterName))
	}
	return out
}

func dumpL4RouteOf(r *L4Route, clusterName func(int) string) dumpL4Route {
	d := dumpL4Route{ID: r.ID, SNI: r.SNI, Clusters: []dumpWeighted{}}
	for _, wc := range r.Clusters {
		d.Clusters = append(d.Clusters, dumpWeighted{clusterName(wc.Cluster), wc.Weight})
	}
	return d
}
