//go:build linux

package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/iemproject/iem/graph/graphtest"
)

// graphExport measures an export of the corpus over Microsoft Graph (the
// Exchange Online emulator over the same organisation) against the EWS
// export of it in the same run, 2 jobs each, per exported item (mail,
// contacts, events and tasks both ways; public folders only over EWS).
func (h *harness) graphExport() {
	_, bd := h.corpusOrg(corpusOptions())
	g, err := graphtest.Start(bd.ews.Org, nil)
	if err != nil {
		h.b.Fatal(err)
	}
	defer g.Close()
	dir := filepath.Join(h.dir, "graph")
	os.MkdirAll(dir, 0o700)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			h.b.Fatal(err)
		}
		return p
	}
	conf := write("graph.conf", fmt.Sprintf("source = graph\ntenant = %s\nclient-id = %s\nclient-secret-file = %s\ngraph-endpoint = %s\nlogin-endpoint = %s\nlog-level = warn\n",
		g.Tenant(), g.ClientID(), write("graph.secret", g.ClientSecret()), g.GraphURL(), strings.TrimSuffix(g.Authority(), "/"+g.Tenant())))
	// The child trusts the emulator's certificate as a machine trusts a public CA.
	os.Setenv("SSL_CERT_FILE", write("ca.pem", string(g.CertPEM())))
	gr := h.command("iem-export", "run", "--config", conf, "--archive", filepath.Join(dir, "archive"), "--jobs", "2")
	os.Unsetenv("SSL_CERT_FILE")
	er := h.command("iem-export", "run", "--config", bd.conf, "--archive", filepath.Join(dir, "archive-ews"), "--jobs", "2")
	gn, _ := gr.summary.items()
	en, _ := er.summary.items()
	gips, eips := float64(gn)/gr.wall.Seconds(), float64(en)/er.wall.Seconds()
	h.add(row{measure: "export over Graph, 2 jobs: items/s", iem: fmt.Sprintf("%.0f items/s (%d items)", gips, gn),
		baseline: fmt.Sprintf("EWS %.0f items/s (%d items)", eips, en), ratio: gips / eips, noGoal: true,
		note: fmt.Sprintf("CPU s per 1,000 items: Graph %.2f, EWS %.2f (exporter only; the emulators run in the harness: %.1f and %.1f CPU s); EWS also moves public folders, which Graph cannot read",
			gr.cpu.Seconds()/float64(gn)*1000, er.cpu.Seconds()/float64(en)*1000, gr.harnessCPU.Seconds(), er.harnessCPU.Seconds())})
}
