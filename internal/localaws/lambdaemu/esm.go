package lambdaemu

import (
	"net/http"
	"strings"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Event source mappings (botocore lambda service-2.json
// CreateEventSourceMapping, ListEventSourceMappings): stored and listed, so
// opsctl can tell which functions consume which queue. No poller runs.

// EventSourceMapping is botocore lambda EventSourceMappingConfiguration (the
// members opsctl reads).
type EventSourceMapping struct {
	UUID           string             `json:"UUID"`
	EventSourceArn string             `json:"EventSourceArn,omitempty"`
	FunctionArn    string             `json:"FunctionArn"`
	State          string             `json:"State"`
	BatchSize      int                `json:"BatchSize,omitempty"`
	LastModified   awsproto.EpochTime `json:"LastModified"`
}

type esmInput struct {
	FunctionName   string `json:"FunctionName"`
	EventSourceArn string `json:"EventSourceArn"`
	Enabled        *bool  `json:"Enabled"`
	BatchSize      *int   `json:"BatchSize"`
}

func (s *Server) createESM(req *awsproto.RESTRequest) (any, error) {
	var in esmInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	// botocore lambda: FunctionName required (1-140); BatchSize 1-10000.
	var errs []error
	errs = append(errs, v.Required("functionName", in.FunctionName != ""))
	if in.BatchSize != nil {
		errs = append(errs, v.Range("batchSize", int64(*in.BatchSize), 1, 10000))
	}
	if err := awsproto.Check(errs...); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.resolve(in.FunctionName, "")
	if err != nil {
		return nil, err
	}
	m := EventSourceMapping{UUID: awsproto.RequestID(), EventSourceArn: in.EventSourceArn, FunctionArn: f.cfg.FunctionArn,
		State: "Enabled", LastModified: awsproto.EpochTime(s.now().UTC())}
	if in.Enabled != nil && !*in.Enabled {
		m.State = "Disabled"
	}
	if in.BatchSize != nil {
		m.BatchSize = *in.BatchSize
	} else if strings.Contains(in.EventSourceArn, ":sqs:") {
		m.BatchSize = 10 // the SQS default
	}
	s.esms = append(s.esms, m)
	return &awsproto.RESTResponse{Status: http.StatusAccepted, Body: m}, nil
}

type listESMInput struct {
	EventSourceArn string `rest:"query=EventSourceArn"`
	FunctionName   string `rest:"query=FunctionName"`
	Marker         string `rest:"query=Marker"`
	MaxItems       *int   `rest:"query=MaxItems"`
}

func (s *Server) listESMs(req *awsproto.RESTRequest) (any, error) {
	var in listESMInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	maxItems := 0
	if in.MaxItems != nil {
		// botocore lambda MaxListItems: 1-10000.
		if err := v.Range("maxItems", int64(*in.MaxItems), 1, 10000); err != nil {
			return nil, err
		}
		maxItems = *in.MaxItems
	}
	s.mu.Lock()
	var fnARN string
	if in.FunctionName != "" {
		f, err := s.resolve(in.FunctionName, "")
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		fnARN = f.cfg.FunctionArn
	}
	var all []EventSourceMapping
	for _, m := range s.esms {
		if (in.EventSourceArn == "" || m.EventSourceArn == in.EventSourceArn) && (fnARN == "" || m.FunctionArn == fnARN) {
			all = append(all, m)
		}
	}
	ps := s.pageSize
	s.mu.Unlock()
	page, next, perr := awsproto.Paginate(all, in.Marker, maxItems, ps, "InvalidParameterValueException")
	if perr != nil {
		return nil, invalid("Invalid marker")
	}
	if page == nil {
		page = []EventSourceMapping{}
	}
	out := map[string]any{"EventSourceMappings": page}
	if next != "" {
		out["NextMarker"] = next
	}
	return out, nil
}
