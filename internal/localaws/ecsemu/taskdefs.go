package ecsemu

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

type taskDef struct {
	td   types.TaskDefinition
	tags []types.Tag
}

func (td *taskDef) arn() string { return str(td.td.TaskDefinitionArn) }

// findTaskDef resolves "family", "family:rev" or an ARN (any status).
// A bare family is its latest ACTIVE revision.
func (s *Server) findTaskDef(id string) *taskDef {
	if strings.HasPrefix(id, "arn:") {
		kind, path, ok := resourceOf(id)
		if !ok || kind != "task-definition" {
			return nil
		}
		id = path
	}
	fam, rev, hasRev := strings.Cut(id, ":")
	revs := s.families[fam]
	if !hasRev {
		for i := len(revs) - 1; i >= 0; i-- {
			if revs[i].td.Status == types.TaskDefinitionStatusActive {
				return revs[i]
			}
		}
		return nil
	}
	n, err := strconv.Atoi(rev)
	if err != nil || n < 1 || n > len(revs) {
		return nil
	}
	return revs[n-1]
}

// fargateMemory is botocore ecs RegisterTaskDefinitionRequest.memory's table
// of supported Fargate task sizes: cpu → memory range and step (MiB).
var fargateMemory = map[int][3]int{
	256:   {512, 2048, 0}, // 512, 1024, 2048
	512:   {1024, 4096, 1024},
	1024:  {2048, 8192, 1024},
	2048:  {4096, 16384, 1024},
	4096:  {8192, 30720, 1024},
	8192:  {16384, 61440, 4096},
	16384: {32768, 122880, 8192},
}

func fargateFits(cpu, mem int) bool {
	r, ok := fargateMemory[cpu]
	if !ok {
		return false
	}
	if cpu == 256 {
		return mem == 512 || mem == 1024 || mem == 2048
	}
	return mem >= r[0] && mem <= r[1] && (mem-r[0])%r[2] == 0
}

var (
	vcpuRe = regexp.MustCompile(`^(?i)\s*([0-9]*\.?[0-9]+)\s*vcpu\s*$`)
	gbRe   = regexp.MustCompile(`^(?i)\s*([0-9]*\.?[0-9]+)\s*gb\s*$`)
)

// parseUnits converts task cpu ("1024", "1 vCPU") and memory ("2048", "2GB")
// to integers, as RegisterTaskDefinition does ("String values are converted
// to an integer indicating the CPU units / MiB when the task definition is
// registered").
func parseUnits(v string, re *regexp.Regexp) (int, bool) {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return n, n > 0
	}
	if m := re.FindStringSubmatch(v); m != nil {
		f, err := strconv.ParseFloat(m[1], 64)
		if err == nil && f > 0 {
			return int(f * 1024), true
		}
	}
	return 0, false
}

func (s *Server) registerTaskDefinition(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.RegisterTaskDefinitionInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	family := str(in.Family)
	if family == "" {
		return nil, clientErr("Family is required.")
	}
	if !nameRe.MatchString(family) {
		return nil, clientErr("Family contains invalid characters. Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.")
	}
	if len(in.ContainerDefinitions) == 0 {
		return nil, clientErr("Container list cannot be empty.")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := checkEnum("networkMode", string(in.NetworkMode), "bridge", "host", "awsvpc", "none"); err != nil {
		return nil, err
	}
	// botocore ecs PidMode, IpcMode, CPUArchitecture enums.
	if err := checkEnum("pidMode", string(in.PidMode), "host", "task"); err != nil {
		return nil, err
	}
	if err := checkEnum("ipcMode", string(in.IpcMode), "host", "task", "none"); err != nil {
		return nil, err
	}
	if rp := in.RuntimePlatform; rp != nil {
		if err := checkEnum("runtimePlatform.cpuArchitecture", string(rp.CpuArchitecture), "X86_64", "ARM64"); err != nil {
			return nil, err
		}
	}
	for _, c := range in.RequiresCompatibilities {
		if err := checkEnum("requiresCompatibilities", string(c), "EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"); err != nil {
			return nil, err
		}
	}
	names := map[string]bool{}
	essential := false
	for _, c := range in.ContainerDefinitions {
		if str(c.Name) == "" {
			return nil, clientErr("Container.name should not be null or empty.")
		}
		if !nameRe.MatchString(str(c.Name)) {
			return nil, clientErr("Container.name contains invalid characters.")
		}
		if str(c.Image) == "" {
			return nil, clientErr("Container.image should not be null or empty.")
		}
		if names[str(c.Name)] {
			return nil, clientErr("Duplicate container name: %s.", str(c.Name))
		}
		names[str(c.Name)] = true
		// botocore ecs LogDriver and TransportProtocol enums.
		if c.LogConfiguration != nil {
			if c.LogConfiguration.LogDriver == "" {
				return nil, clientErr("Invalid setting for container '%s'. logConfiguration.logDriver is required.", str(c.Name))
			}
			if err := checkEnum("logConfiguration.logDriver", string(c.LogConfiguration.LogDriver), "json-file", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "awsfirelens"); err != nil {
				return nil, err
			}
		}
		for _, pm := range c.PortMappings {
			if err := checkEnum("portMappings.protocol", string(pm.Protocol), "tcp", "udp"); err != nil {
				return nil, err
			}
			if err := checkEnum("portMappings.appProtocol", string(pm.AppProtocol), "http", "http2", "grpc"); err != nil {
				return nil, err
			}
		}
		if c.Essential == nil || *c.Essential {
			essential = true
		}
		if c.StopTimeout != nil && (*c.StopTimeout < 0 || *c.StopTimeout > 120) && hasCompat(in.RequiresCompatibilities, "FARGATE") {
			return nil, clientErr("Invalid setting for container '%s'. The stopTimeout value for Fargate must be between 0 and 120 seconds.", str(c.Name))
		}
	}
	if !essential {
		return nil, clientErr("Task definition does not have any essential container.")
	}
	cpu, mem := 0, 0
	if in.Cpu != nil {
		n, ok := parseUnits(*in.Cpu, vcpuRe)
		if !ok {
			return nil, clientErr("Invalid 'cpu' setting for task.")
		}
		cpu = n
	}
	if in.Memory != nil {
		n, ok := parseUnits(*in.Memory, gbRe)
		if !ok {
			return nil, clientErr("Invalid 'memory' setting for task.")
		}
		mem = n
	}
	fargate := hasCompat(in.RequiresCompatibilities, "FARGATE")
	if fargate {
		if in.NetworkMode != types.NetworkModeAwsvpc {
			return nil, clientErr("Fargate only supports network mode 'awsvpc'.")
		}
		if in.Cpu == nil {
			return nil, clientErr("Fargate requires that 'cpu' be defined at the task level.")
		}
		if in.Memory == nil {
			return nil, clientErr("Fargate requires that 'memory' be defined at the task level.")
		}
		if !fargateFits(cpu, mem) {
			return nil, clientErr("No Fargate configuration exists for given values.")
		}
		for _, c := range in.ContainerDefinitions {
			if c.LogConfiguration != nil && c.LogConfiguration.LogDriver == types.LogDriverAwslogs && str(in.ExecutionRoleArn) == "" {
				return nil, clientErr("Fargate requires task definition to have execution role ARN to support log driver awslogs.")
			}
			if strings.Contains(str(c.Image), ".dkr.ecr.") && str(in.ExecutionRoleArn) == "" {
				return nil, clientErr("Fargate requires task definition to have execution role ARN to support ECR images.")
			}
		}
	} else if in.Cpu != nil && (cpu < 128 || cpu > 196608) && in.NetworkMode != types.NetworkModeAwsvpc {
		return nil, clientErr("Invalid 'cpu' setting for task. The cpu value must be between 128 and 196608 CPU units.")
	}
	if in.Memory == nil {
		for _, c := range in.ContainerDefinitions {
			if c.Memory == nil && c.MemoryReservation == nil {
				return nil, clientErr("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", str(c.Name))
			}
		}
	}
	for _, c := range in.ContainerDefinitions {
		if len(c.Secrets) > 0 && str(in.ExecutionRoleArn) == "" {
			return nil, clientErr("When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.")
		}
	}
	revs := s.families[family]
	rev := int32(len(revs) + 1)
	arn := s.arn(fmt.Sprintf("task-definition/%s:%d", family, rev))
	compat := []types.Compatibility{types.CompatibilityEc2}
	if in.NetworkMode == types.NetworkModeAwsvpc && in.Cpu != nil && in.Memory != nil && fargateFits(cpu, mem) {
		compat = append(compat, types.CompatibilityFargate)
	}
	netMode := in.NetworkMode
	if netMode == "" {
		netMode = types.NetworkModeBridge
	}
	defs := make([]types.ContainerDefinition, len(in.ContainerDefinitions))
	for i, c := range in.ContainerDefinitions {
		if c.Essential == nil {
			c.Essential = ptr(true)
		}
		if c.PortMappings == nil {
			c.PortMappings = []types.PortMapping{}
		}
		for j := range c.PortMappings {
			pm := &c.PortMappings[j]
			if pm.Protocol == "" {
				pm.Protocol = types.TransportProtocolTcp
			}
			if netMode == types.NetworkModeAwsvpc && pm.HostPort == nil {
				pm.HostPort = pm.ContainerPort
			}
		}
		if c.Environment == nil {
			c.Environment = []types.KeyValuePair{}
		}
		if c.MountPoints == nil {
			c.MountPoints = []types.MountPoint{}
		}
		if c.VolumesFrom == nil {
			c.VolumesFrom = []types.VolumeFrom{}
		}
		defs[i] = c
	}
	td := &taskDef{tags: in.Tags, td: types.TaskDefinition{
		TaskDefinitionArn: ptr(arn), Family: ptr(family), Revision: rev,
		ContainerDefinitions: defs, TaskRoleArn: in.TaskRoleArn, ExecutionRoleArn: in.ExecutionRoleArn,
		NetworkMode: netMode, Volumes: in.Volumes, PlacementConstraints: in.PlacementConstraints,
		RequiresCompatibilities: in.RequiresCompatibilities, Compatibilities: compat,
		PidMode: in.PidMode, IpcMode: in.IpcMode, ProxyConfiguration: in.ProxyConfiguration,
		EphemeralStorage: in.EphemeralStorage, RuntimePlatform: in.RuntimePlatform,
		Status: types.TaskDefinitionStatusActive, RegisteredAt: ptr(now),
		RegisteredBy:         ptr(fmt.Sprintf("arn:aws:iam::%s:root", s.Account)),
		EnableFaultInjection: in.EnableFaultInjection,
	}}
	if td.td.Volumes == nil {
		td.td.Volumes = []types.Volume{}
	}
	if td.td.PlacementConstraints == nil {
		td.td.PlacementConstraints = []types.TaskDefinitionPlacementConstraint{}
	}
	if in.Cpu != nil {
		td.td.Cpu = ptr(strconv.Itoa(cpu))
	}
	if in.Memory != nil {
		td.td.Memory = ptr(strconv.Itoa(mem))
	}
	s.families[family] = append(revs, td)
	out := &ecs.RegisterTaskDefinitionOutput{TaskDefinition: ptr(td.td)}
	if len(in.Tags) > 0 {
		out.Tags = in.Tags
	}
	return out, nil
}

func hasCompat(list []types.Compatibility, c string) bool {
	for _, x := range list {
		if string(x) == c {
			return true
		}
	}
	return false
}

func (s *Server) describeTaskDefinition(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.DescribeTaskDefinitionInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if str(in.TaskDefinition) == "" {
		return nil, clientErr("taskDefinition is required.")
	}
	td := s.findTaskDef(str(in.TaskDefinition))
	if td == nil || td.td.Status == types.TaskDefinitionStatusDeleteInProgress {
		return nil, clientErr("Unable to describe task definition.")
	}
	out := &ecs.DescribeTaskDefinitionOutput{TaskDefinition: ptr(td.td)}
	for _, f := range in.Include {
		if f == types.TaskDefinitionFieldTags {
			out.Tags = append([]types.Tag{}, td.tags...)
		}
	}
	return out, nil
}

// needsRevision checks "family:revision" or an ARN with a revision.
func needsRevision(id string) bool {
	if strings.HasPrefix(id, "arn:") {
		_, path, ok := resourceOf(id)
		return ok && strings.Contains(path, ":")
	}
	return strings.Contains(id, ":")
}

func (s *Server) deregisterTaskDefinition(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.DeregisterTaskDefinitionInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	id := str(in.TaskDefinition)
	if !needsRevision(id) {
		return nil, invalid("Invalid revision number. Number: %s", id)
	}
	td := s.findTaskDef(id)
	if td == nil || td.td.Status == types.TaskDefinitionStatusDeleteInProgress {
		return nil, clientErr("The specified task definition does not exist.")
	}
	if td.td.Status == types.TaskDefinitionStatusActive {
		td.td.Status = types.TaskDefinitionStatusInactive
		td.td.DeregisteredAt = ptr(now)
	}
	return &ecs.DeregisterTaskDefinitionOutput{TaskDefinition: ptr(td.td)}, nil
}

func (s *Server) deleteTaskDefinitions(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.DeleteTaskDefinitionsInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if len(in.TaskDefinitions) == 0 {
		return nil, invalid("taskDefinitions is required.")
	}
	if len(in.TaskDefinitions) > 10 {
		return nil, invalid("You can specify up to 10 task definitions.")
	}
	out := &ecs.DeleteTaskDefinitionsOutput{TaskDefinitions: []types.TaskDefinition{}, Failures: []types.Failure{}}
	for _, id := range in.TaskDefinitions {
		td := s.findTaskDef(id)
		if !needsRevision(id) || td == nil {
			out.Failures = append(out.Failures, types.Failure{Arn: ptr(id), Reason: ptr("The specified task definition does not exist. Specify a valid account, family, revision and try again.")})
			continue
		}
		if td.td.Status == types.TaskDefinitionStatusActive {
			out.Failures = append(out.Failures, types.Failure{Arn: ptr(td.arn()), Reason: ptr("The specified task definition is still in ACTIVE status. Please deregister the target and try again.")})
			continue
		}
		td.td.Status = types.TaskDefinitionStatusDeleteInProgress
		out.TaskDefinitions = append(out.TaskDefinitions, td.td)
	}
	return out, nil
}

func (s *Server) listTaskDefinitions(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.ListTaskDefinitionsInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkMaxResults(in.MaxResults, 100); err != nil {
		return nil, err
	}
	if err := checkEnum("status", string(in.Status), "ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"); err != nil {
		return nil, err
	}
	if err := checkEnum("sort", string(in.Sort), "ASC", "DESC"); err != nil {
		return nil, err
	}
	status := in.Status
	if status == "" {
		status = types.TaskDefinitionStatusActive
	}
	var tds []*taskDef
	for _, fam := range sortedKeys(s.families) {
		if in.FamilyPrefix != nil && fam != *in.FamilyPrefix {
			continue
		}
		for _, td := range s.families[fam] {
			if td.td.Status == status {
				tds = append(tds, td)
			}
		}
	}
	if in.Sort == types.SortOrderDesc {
		sort.SliceStable(tds, func(i, j int) bool {
			if str(tds[i].td.Family) != str(tds[j].td.Family) {
				return str(tds[i].td.Family) > str(tds[j].td.Family)
			}
			return tds[i].td.Revision > tds[j].td.Revision
		})
	}
	arns := make([]string, len(tds))
	for i, td := range tds {
		arns[i] = td.arn()
	}
	page, next, err := awsproto.Paginate(arns, str(in.NextToken), int(i32(in.MaxResults, 0)), 100, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	out := &ecs.ListTaskDefinitionsOutput{TaskDefinitionArns: append([]string{}, page...)}
	if next != "" {
		out.NextToken = ptr(next)
	}
	return out, nil
}

func (s *Server) listTaskDefinitionFamilies(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.ListTaskDefinitionFamiliesInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkMaxResults(in.MaxResults, 100); err != nil {
		return nil, err
	}
	if err := checkEnum("status", string(in.Status), "ACTIVE", "INACTIVE", "ALL"); err != nil {
		return nil, err
	}
	var fams []string
	for _, fam := range sortedKeys(s.families) {
		if in.FamilyPrefix != nil && !strings.HasPrefix(fam, *in.FamilyPrefix) {
			continue
		}
		active := false
		for _, td := range s.families[fam] {
			if td.td.Status == types.TaskDefinitionStatusActive {
				active = true
			}
		}
		switch in.Status {
		case types.TaskDefinitionFamilyStatusAll:
		case types.TaskDefinitionFamilyStatusInactive:
			if active {
				continue
			}
		default:
			if !active {
				continue
			}
		}
		fams = append(fams, fam)
	}
	page, next, err := awsproto.Paginate(fams, str(in.NextToken), int(i32(in.MaxResults, 0)), 100, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	out := &ecs.ListTaskDefinitionFamiliesOutput{Families: append([]string{}, page...)}
	if next != "" {
		out.NextToken = ptr(next)
	}
	return out, nil
}
