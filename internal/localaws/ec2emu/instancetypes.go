package ec2emu

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// instanceType is one row of the catalogue: the published specifications
// of current-generation general purpose and compute types (Amazon EC2
// instance types pages: vCPUs, memory, network performance, network
// interfaces and IPv4 addresses per interface).
type instanceType struct {
	name      string
	arch      string // x86_64 or arm64
	vcpus     int32
	memMiB    int64
	network   string
	enis      int32
	ipv4PerIf int32
	burstable bool
	freeTier  bool
	clockGHz  float64
}

func family(prefix, arch, network string, burstable bool, ghz float64, sizes []struct {
	size            string
	vcpus           int32
	mem             int64
	enis, ipv4PerIf int32
}) []instanceType {
	var out []instanceType
	for _, s := range sizes {
		out = append(out, instanceType{name: prefix + "." + s.size, arch: arch, vcpus: s.vcpus, memMiB: s.mem, network: network,
			enis: s.enis, ipv4PerIf: s.ipv4PerIf, burstable: burstable, clockGHz: ghz})
	}
	return out
}

type size = struct {
	size            string
	vcpus           int32
	mem             int64
	enis, ipv4PerIf int32
}

var (
	// T3, T3a and T4g share their sizes' vCPU, memory and ENI limits.
	burstSizes = []size{
		{"nano", 2, 512, 2, 2}, {"micro", 2, 1024, 2, 2}, {"small", 2, 2048, 3, 4}, {"medium", 2, 4096, 3, 6},
		{"large", 2, 8192, 3, 12}, {"xlarge", 4, 16384, 4, 15}, {"2xlarge", 8, 32768, 4, 15},
	}
	generalSizes = []size{
		{"large", 2, 8192, 3, 10}, {"xlarge", 4, 16384, 4, 15}, {"2xlarge", 8, 32768, 4, 15}, {"4xlarge", 16, 65536, 8, 30},
	}
	computeSizes = []size{
		{"large", 2, 4096, 3, 10}, {"xlarge", 4, 8192, 4, 15}, {"2xlarge", 8, 16384, 4, 15}, {"4xlarge", 16, 32768, 8, 30},
	}
	memorySizes = []size{
		{"large", 2, 16384, 3, 10}, {"xlarge", 4, 32768, 4, 15}, {"2xlarge", 8, 65536, 4, 15}, {"4xlarge", 16, 131072, 8, 30},
	}
)

var catalogue = func() map[string]*instanceType {
	var all []instanceType
	all = append(all, family("t3", "x86_64", "Up to 5 Gigabit", true, 3.1, burstSizes)...)
	all = append(all, family("t3a", "x86_64", "Up to 5 Gigabit", true, 2.2, burstSizes)...)
	all = append(all, family("t4g", "arm64", "Up to 5 Gigabit", true, 2.5, burstSizes)...)
	all = append(all, family("m5", "x86_64", "Up to 10 Gigabit", false, 3.1, generalSizes)...)
	all = append(all, family("m5a", "x86_64", "Up to 10 Gigabit", false, 2.5, generalSizes)...)
	all = append(all, family("m6i", "x86_64", "Up to 12.5 Gigabit", false, 3.5, generalSizes)...)
	all = append(all, family("m6g", "arm64", "Up to 10 Gigabit", false, 2.5, generalSizes)...)
	all = append(all, family("m7g", "arm64", "Up to 12.5 Gigabit", false, 2.6, generalSizes)...)
	all = append(all, family("c5", "x86_64", "Up to 10 Gigabit", false, 3.4, computeSizes)...)
	all = append(all, family("c5a", "x86_64", "Up to 10 Gigabit", false, 3.3, computeSizes)...)
	all = append(all, family("c6i", "x86_64", "Up to 12.5 Gigabit", false, 3.5, computeSizes)...)
	all = append(all, family("c6g", "arm64", "Up to 10 Gigabit", false, 2.5, computeSizes)...)
	all = append(all, family("c7g", "arm64", "Up to 12.5 Gigabit", false, 2.6, computeSizes)...)
	all = append(all, family("r5", "x86_64", "Up to 10 Gigabit", false, 3.1, memorySizes)...)
	all = append(all, family("r6g", "arm64", "Up to 10 Gigabit", false, 2.5, memorySizes)...)
	m := map[string]*instanceType{}
	for i := range all {
		t := all[i]
		t.freeTier = t.name == "t3.micro"
		m[t.name] = &t
	}
	return m
}()

func lookupType(name string) *instanceType { return catalogue[name] }

// KnownInstanceType reports whether the catalogue has name.
func KnownInstanceType(name string) bool { return lookupType(name) != nil }

func sortedTypes() []*instanceType {
	out := make([]*instanceType, 0, len(catalogue))
	for _, t := range catalogue {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

type instanceTypeXML struct {
	InstanceType       string   `xml:"instanceType"`
	CurrentGeneration  bool     `xml:"currentGeneration"`
	FreeTierEligible   bool     `xml:"freeTierEligible"`
	UsageClasses       []string `xml:"supportedUsageClasses>item"`
	RootDeviceTypes    []string `xml:"supportedRootDeviceTypes>item"`
	VirtualizationType []string `xml:"supportedVirtualizationTypes>item"`
	BareMetal          bool     `xml:"bareMetal"`
	Hypervisor         string   `xml:"hypervisor"`
	Processor          struct {
		Architectures []string `xml:"supportedArchitectures>item"`
		ClockGHz      float64  `xml:"sustainedClockSpeedInGhz"`
	} `xml:"processorInfo"`
	VCPU struct {
		DefaultVCpus          int32 `xml:"defaultVCpus"`
		DefaultCores          int32 `xml:"defaultCores"`
		DefaultThreadsPerCore int32 `xml:"defaultThreadsPerCore"`
	} `xml:"vCpuInfo"`
	Memory struct {
		SizeInMiB int64 `xml:"sizeInMiB"`
	} `xml:"memoryInfo"`
	InstanceStorageSupported bool `xml:"instanceStorageSupported"`
	Network                  struct {
		Performance         string `xml:"networkPerformance"`
		MaxInterfaces       int32  `xml:"maximumNetworkInterfaces"`
		IPv4PerInterface    int32  `xml:"ipv4AddressesPerInterface"`
		IPv6PerInterface    int32  `xml:"ipv6AddressesPerInterface"`
		IPv6Supported       bool   `xml:"ipv6Supported"`
		EnaSupport          string `xml:"enaSupport"`
		MaximumNetworkCards int32  `xml:"maximumNetworkCards"`
	} `xml:"networkInfo"`
	Burstable         bool     `xml:"burstablePerformanceSupported"`
	AutoRecovery      bool     `xml:"autoRecoverySupported"`
	BootModes         []string `xml:"supportedBootModes>item"`
	SupportedInRegion bool     `xml:"supportedInRegion"`
}

func (t *instanceType) xml() instanceTypeXML {
	x := instanceTypeXML{InstanceType: t.name, CurrentGeneration: true, FreeTierEligible: t.freeTier,
		UsageClasses: []string{"on-demand", "spot"}, RootDeviceTypes: []string{"ebs"}, VirtualizationType: []string{"hvm"},
		Hypervisor: "nitro", Burstable: t.burstable, AutoRecovery: true, SupportedInRegion: true}
	x.Processor.Architectures = []string{t.arch}
	x.Processor.ClockGHz = t.clockGHz
	x.VCPU.DefaultVCpus = t.vcpus
	x.VCPU.DefaultThreadsPerCore = 2
	if t.arch == "arm64" {
		x.VCPU.DefaultThreadsPerCore = 1
		x.BootModes = []string{"uefi"}
	} else {
		x.BootModes = []string{"legacy-bios", "uefi"}
	}
	x.VCPU.DefaultCores = t.vcpus / x.VCPU.DefaultThreadsPerCore
	x.Memory.SizeInMiB = t.memMiB
	x.Network.Performance = t.network
	x.Network.MaxInterfaces = t.enis
	x.Network.IPv4PerInterface = t.ipv4PerIf
	x.Network.IPv6PerInterface = t.ipv4PerIf
	x.Network.IPv6Supported = true
	x.Network.EnaSupport = "required"
	x.Network.MaximumNetworkCards = 1
	return x
}

func (s *Server) describeInstanceTypes(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		InstanceTypes []string `query:"InstanceType"`
		Filters       []Filter `query:"Filter"`
		MaxResults    int32
		NextToken     string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if len(in.InstanceTypes) > 100 {
		return nil, awsproto.Errf("InvalidParameterValue", "The maximum number of instance types that can be specified is 100.")
	}
	var unknown []string
	for _, n := range in.InstanceTypes {
		if lookupType(n) == nil {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return nil, awsproto.Errf("InvalidInstanceType", "The following supplied instance types do not exist: [%s]", strings.Join(unknown, ", "))
	}
	var out []instanceTypeXML
	for _, t := range sortedTypes() {
		if len(in.InstanceTypes) > 0 && !contains(in.InstanceTypes, t.name) {
			continue
		}
		ok, err := filterSet(in.Filters).match(func(name string) ([]string, bool) {
			switch name {
			case "instance-type":
				return []string{t.name}, true
			case "processor-info.supported-architecture":
				return []string{t.arch}, true
			case "vcpu-info.default-vcpus":
				return []string{strconv.Itoa(int(t.vcpus))}, true
			case "memory-info.size-in-mib":
				return []string{strconv.FormatInt(t.memMiB, 10)}, true
			case "burstable-performance-supported":
				return []string{boolStr(t.burstable)}, true
			case "current-generation":
				return []string{"true"}, true
			case "free-tier-eligible":
				return []string{boolStr(t.freeTier)}, true
			case "supported-usage-class":
				return []string{"on-demand", "spot"}, true
			case "hypervisor":
				return []string{"nitro"}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, t.xml())
		}
	}
	// DescribeInstanceTypes pages by 100 (DITMaxResults 5–100) even when
	// MaxResults is not given.
	max := in.MaxResults
	if max == 0 {
		max = 100
	}
	items, next, err := page(out, in.NextToken, max, 5, 100)
	if err != nil {
		return nil, err
	}
	return struct {
		Types     []instanceTypeXML `xml:"instanceTypeSet>item"`
		NextToken string            `xml:"nextToken,omitempty"`
	}{items, next}, nil
}

func (s *Server) describeInstanceTypeOfferings(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LocationType string
		Filters      []Filter `query:"Filter"`
		MaxResults   int32
		NextToken    string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	lt := in.LocationType
	if lt == "" {
		lt = "region"
	}
	var locations []string
	switch lt {
	case "region":
		locations = []string{s.region}
	case "availability-zone":
		for _, z := range s.zones() {
			locations = append(locations, z[0])
		}
	case "availability-zone-id":
		for _, z := range s.zones() {
			locations = append(locations, z[1])
		}
	default:
		// botocore ec2 LocationType enum: region | availability-zone | availability-zone-id | outpost.
		return nil, awsproto.Errf("InvalidParameterValue", "Value (%s) for parameter locationType is invalid. Valid values are region, availability-zone, availability-zone-id, outpost.", lt)
	}
	type offering struct {
		InstanceType string `xml:"instanceType"`
		LocationType string `xml:"locationType"`
		Location     string `xml:"location"`
	}
	var out []offering
	for _, loc := range locations {
		for _, t := range sortedTypes() {
			ok, err := filterSet(in.Filters).match(func(name string) ([]string, bool) {
				switch name {
				case "instance-type":
					return []string{t.name}, true
				case "location":
					return []string{loc}, true
				}
				return nil, false
			})
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, offering{t.name, lt, loc})
			}
		}
	}
	items, next, err := page(out, in.NextToken, in.MaxResults, 5, 1000)
	if err != nil {
		return nil, err
	}
	return struct {
		Offerings []offering `xml:"instanceTypeOfferingSet>item"`
		NextToken string     `xml:"nextToken,omitempty"`
	}{items, next}, nil
}
