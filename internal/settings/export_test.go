package settings

import (
	"errors"
	"os"
	"testing"

	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/internal/cliutil"
)

func TestParseShard(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    export.Shard
		isUsage bool
	}{
		{"", export.Shard{}, false},
		{"1/1", export.Shard{Index: 1, Count: 1}, false},
		{"2/4", export.Shard{Index: 2, Count: 4}, false},
		{" 4 / 4 ", export.Shard{Index: 4, Count: 4}, false},
		{"0/4", export.Shard{}, true},
		{"5/4", export.Shard{}, true},
		{"4", export.Shard{}, true},
		{"a/b", export.Shard{}, true},
		{"1/0", export.Shard{}, true},
		{"-1/4", export.Shard{}, true},
	} {
		got, err := ParseShard(c.in)
		var ue *cliutil.UsageError
		if c.isUsage != errors.As(err, &ue) || (ue != nil && ue.Field != "shard") {
			t.Errorf("ParseShard(%q): err %v, want usage error %v", c.in, err, c.isUsage)
		}
		if err == nil && got != c.want {
			t.Errorf("ParseShard(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestExportSettings(t *testing.T) {
	dir := t.TempDir()
	ldif := dir + "/ad.ldf"
	pw := dir + "/pw"
	for _, p := range []string{ldif, pw} {
		if err := writeFile(p, "x\n"); err != nil {
			t.Fatal(err)
		}
	}
	good := form{"source": "ews", "ews-url": "https://mail.example.com/EWS/Exchange.asmx", "admin-user": `EXAMPLE\m`,
		"password-file": pw, "auth": "basic", "directory-file": ldif, "archive": dir + "/archive", "log-level": "info", "log-format": "text"}
	ints := map[string]int{"start-year": 2001, "jobs": 2}
	cfg, err := ExportSettings(exportForm{formInts{good, ints}, 1 << 30}, true)
	if err != nil || cfg.StartYear != 2001 || cfg.DirectoryFile != ldif || cfg.VolumeSize != 1<<30 {
		t.Fatalf("ExportSettings(good) = %+v, %v", cfg, err)
	}
	for field, bad := range map[string]string{"source": "imap", "archive": "", "mailboxes-from": dir + "/none.txt", "shard": "5/4"} {
		f := form{}
		for k, v := range good {
			f[k] = v
		}
		f[field] = bad
		_, err := ExportSettings(exportForm{formInts{f, ints}, 1 << 30}, true)
		wantField(t, field+"="+bad, err, field)
	}
	_, err = ExportSettings(exportForm{formInts{good, map[string]int{"start-year": 1800, "jobs": 2}}, 1 << 30}, true)
	wantField(t, "start-year=1800", err, "start-year")
	_, err = ExportSettings(exportForm{formInts{good, ints}, 4096}, true)
	wantField(t, "volume-size=4096", err, "volume-size")
	if _, err := ExportSettings(exportForm{formInts{good, ints}, 0}, false); err != nil {
		t.Errorf("ExportSettings without the archive settings (plan) = %v", err)
	}
}

// exportForm adds the volume size.
type exportForm struct {
	formInts
	volume int64
}

func (f exportForm) Int64(string) int64 { return f.volume }

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o600) }
