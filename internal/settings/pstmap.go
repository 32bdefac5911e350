package settings

import (
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/iemproject/iem/internal/cliutil"
)

// A PSTMapping is one PST or OST file of --pst-map: the mailbox it belongs
// to and the folder its tree goes under ("" is the mailbox root, as for an
// ExMerge export of the whole mailbox; "Archives/NAME" by default, a
// personal archive).
type PSTMapping struct {
	File    string // absolute path
	Mailbox string
	Folder  string
	Line    int // of the map file
}

// PSTMap reads a map file of CSV lines "FILE,MAILBOX[,WHERE]" ('#'
// comments): FILE is a .pst/.ost file or a folder of them, WHERE is "root"
// (merge into the mailbox, well-known folders mapped), "archive" (the
// default: under Archives/<file name>) or a folder path. Each error names
// the map file and line; a file mapped twice is refused.
func PSTMap(path string) ([]PSTMapping, error) {
	if path == "" {
		return nil, cliutil.Usagef("pst-map", "required with --source pst: the CSV file mapping PST files to mailboxes")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, cliutil.Usagef("pst-map", "%v", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment, r.FieldsPerRecord, r.TrimLeadingSpace = '#', -1, true
	var out []PSTMapping
	seen := map[string]int{}
	var infos []mappedFile
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		bad := func(format string, args ...any) error {
			return cliutil.Usagef("pst-map", "%s line %d: "+format, append([]any{path, line}, args...)...)
		}
		if err != nil {
			return nil, cliutil.Usagef("pst-map", "%s: %v", path, err)
		}
		if len(rec) < 2 || len(rec) > 3 || strings.TrimSpace(rec[0]) == "" || !strings.Contains(rec[1], "@") {
			return nil, bad("want FILE,MAILBOX[,root|archive|FOLDER], got %q", strings.Join(rec, ","))
		}
		where := "archive"
		if len(rec) == 3 && strings.TrimSpace(rec[2]) != "" {
			where = strings.TrimSpace(rec[2])
		}
		files, err := pstFiles(strings.TrimSpace(rec[0]), filepath.Dir(path))
		if err != nil {
			return nil, bad("%v", err)
		}
		for _, file := range files {
			if prev, ok := seen[file]; ok {
				return nil, bad("%s is already mapped on line %d", file, prev)
			}
			// The same file under another name (a link, another mount path):
			// exporting it twice would duplicate every item.
			st, _ := os.Stat(file)
			for _, o := range infos {
				if st != nil && os.SameFile(st, o.info) {
					return nil, bad("%s is the same file as %s, mapped on line %d", file, o.file, o.line)
				}
			}
			infos = append(infos, mappedFile{file, st, line})
			seen[file] = line
			m := PSTMapping{File: file, Mailbox: strings.ToLower(strings.TrimSpace(rec[1])), Line: line}
			switch where {
			case "root":
			case "archive":
				m.Folder = "Archives/" + strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
			default:
				m.Folder = strings.Trim(where, "/")
			}
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, cliutil.Usagef("pst-map", "%s maps no file", path)
	}
	return out, nil
}

// mappedFile is a file of the map already read, to find it under another name.
type mappedFile struct {
	file string
	info os.FileInfo
	line int
}

// pstFiles is the file named, or the .pst and .ost files of the folder
// named, as absolute paths; a relative name is relative to the map's folder.
func pstFiles(name, base string) ([]string, error) {
	if !filepath.IsAbs(name) {
		name = filepath.Join(base, name)
	}
	name, err := filepath.Abs(name)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{name}, nil
	}
	ents, err := os.ReadDir(name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if ext := strings.ToLower(filepath.Ext(e.Name())); !e.IsDir() && (ext == ".pst" || ext == ".ost") {
			out = append(out, filepath.Join(name, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, errors.New(name + " holds no .pst or .ost file")
	}
	sort.Strings(out)
	return out, nil
}
