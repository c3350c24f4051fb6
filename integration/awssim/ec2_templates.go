package awssim

import (
	"encoding/xml"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// EC2 launch templates and their versions.

type launchTemplateXML struct {
	ID                   string `xml:"launchTemplateId"`
	Name                 string `xml:"launchTemplateName"`
	CreateTime           string `xml:"createTime"`
	CreatedBy            string `xml:"createdBy"`
	DefaultVersionNumber int    `xml:"defaultVersionNumber"`
	LatestVersionNumber  int    `xml:"latestVersionNumber"`
}

type launchTemplateDataXML struct {
	ImageID          string   `xml:"imageId,omitempty"`
	InstanceType     string   `xml:"instanceType,omitempty"`
	KeyName          string   `xml:"keyName,omitempty"`
	UserData         string   `xml:"userData,omitempty"`
	SecurityGroupIDs []string `xml:"securityGroupIdSet>item"`
}

type launchTemplateVersionXML struct {
	LaunchTemplateID   string                `xml:"launchTemplateId"`
	LaunchTemplateName string                `xml:"launchTemplateName"`
	VersionNumber      int                   `xml:"versionNumber"`
	VersionDescription string                `xml:"versionDescription,omitempty"`
	CreateTime         string                `xml:"createTime"`
	CreatedBy          string                `xml:"createdBy"`
	DefaultVersion     bool                  `xml:"defaultVersion"`
	Data               launchTemplateDataXML `xml:"launchTemplateData"`
}

func (s *Sim) createdBy() string { return "arn:aws:iam::" + s.opts.AccountID + ":root" }

func (s *Sim) launchTemplateXML(lt *LaunchTemplate) launchTemplateXML {
	return launchTemplateXML{
		ID: lt.ID, Name: lt.Name, CreateTime: ec2Time(lt.CreateTime), CreatedBy: s.createdBy(),
		DefaultVersionNumber: lt.DefaultVersion, LatestVersionNumber: lt.LatestVersion,
	}
}

func (s *Sim) launchTemplateVersionXML(lt *LaunchTemplate, d *LaunchTemplateData) launchTemplateVersionXML {
	return launchTemplateVersionXML{
		LaunchTemplateID: lt.ID, LaunchTemplateName: lt.Name, VersionNumber: d.Version,
		VersionDescription: d.Description, CreateTime: ec2Time(d.CreateTime), CreatedBy: s.createdBy(),
		DefaultVersion: d.Version == lt.DefaultVersion,
		Data: launchTemplateDataXML{
			ImageID: d.ImageID, InstanceType: d.InstanceType, KeyName: d.KeyName,
			UserData: d.UserData, SecurityGroupIDs: d.SecurityGroupIDs,
		},
	}
}

var launchTemplateNameRE = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)

// launchTemplateData reads LaunchTemplateData.* over base (nil: empty).
func launchTemplateData(p url.Values, base *LaunchTemplateData) *LaunchTemplateData {
	d := &LaunchTemplateData{}
	if base != nil {
		*d = *base
		d.SecurityGroupIDs = append([]string(nil), base.SecurityGroupIDs...)
	}
	set := func(field *string, name string) {
		if v, ok := p["LaunchTemplateData."+name]; ok {
			*field = v[0]
		}
	}
	set(&d.ImageID, "ImageId")
	set(&d.InstanceType, "InstanceType")
	set(&d.KeyName, "KeyName")
	set(&d.UserData, "UserData")
	if sgs := ec2List(p, "LaunchTemplateData.SecurityGroupId"); len(sgs) > 0 {
		d.SecurityGroupIDs = sgs
	}
	d.Description = p.Get("VersionDescription")
	return d
}

func (s *Sim) createLaunchTemplate(r *request) (any, *APIError) {
	name := r.Params.Get("LaunchTemplateName")
	if name == "" {
		return nil, errf("MissingParameter", 400, "The request must contain the parameter LaunchTemplateName")
	}
	if !launchTemplateNameRE.MatchString(name) {
		return nil, errf("InvalidLaunchTemplateName.MalformedException", 400, "A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.'")
	}
	if s.launchTemplateByNameLocked(name) != nil {
		return nil, errf("InvalidLaunchTemplateName.AlreadyExistsException", 400, "Launch template name already in use.")
	}
	if !hasPrefixParam(r.Params, "LaunchTemplateData.") {
		return nil, errf("MissingParameter", 400, "The request must contain the parameter LaunchTemplateData")
	}
	now := s.clock.Now()
	d := launchTemplateData(r.Params, nil)
	d.Version, d.CreateTime = 1, now
	lt := &LaunchTemplate{
		ID: s.ec2ResourceID("lt"), Name: name, DefaultVersion: 1, LatestVersion: 1,
		Versions: map[int]*LaunchTemplateData{1: d}, CreateTime: now,
	}
	if s.launchTemplates == nil {
		s.launchTemplates = map[string]*LaunchTemplate{}
	}
	s.launchTemplates[lt.ID] = lt
	return struct {
		XMLName        xml.Name          `xml:"result"`
		LaunchTemplate launchTemplateXML `xml:"launchTemplate"`
	}{xml.Name{}, s.launchTemplateXML(lt)}, nil
}

func hasPrefixParam(p url.Values, prefix string) bool {
	for k := range p {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func (s *Sim) createLaunchTemplateVersion(r *request) (any, *APIError) {
	lt, apiErr := s.launchTemplateParamLocked(r.Params)
	if apiErr != nil {
		return nil, apiErr
	}
	var base *LaunchTemplateData
	if sv := r.Params.Get("SourceVersion"); sv != "" {
		if base, apiErr = lt.version(sv); apiErr != nil {
			return nil, apiErr
		}
	}
	d := launchTemplateData(r.Params, base)
	lt.LatestVersion++
	d.Version, d.CreateTime = lt.LatestVersion, s.clock.Now()
	lt.Versions[d.Version] = d
	return struct {
		XMLName xml.Name                 `xml:"result"`
		Version launchTemplateVersionXML `xml:"launchTemplateVersion"`
	}{xml.Name{}, s.launchTemplateVersionXML(lt, d)}, nil
}

func (s *Sim) describeLaunchTemplates(r *request) (any, *APIError) {
	ids := ec2List(r.Params, "LaunchTemplateId")
	names := ec2List(r.Params, "LaunchTemplateName")
	var lts []*LaunchTemplate
	switch {
	case len(ids) > 0:
		for _, id := range ids {
			lt := s.launchTemplates[id]
			if lt == nil {
				return nil, errf("InvalidLaunchTemplateId.NotFound", 400, "At least one of the launch templates specified in the request does not exist.")
			}
			lts = append(lts, lt)
		}
	case len(names) > 0:
		for _, name := range names {
			lt := s.launchTemplateByNameLocked(name)
			if lt == nil {
				return nil, errf("InvalidLaunchTemplateName.NotFoundException", 400, "At least one of the launch templates specified in the request does not exist.")
			}
			lts = append(lts, lt)
		}
	default:
		for _, lt := range s.launchTemplates {
			lts = append(lts, lt)
		}
	}
	lts, apiErr := ec2ApplyFilters(lts, ec2Filters(r.Params), func(*LaunchTemplate) map[string]string { return nil },
		func(lt *LaunchTemplate, name string) ([]string, bool) {
			if lt == nil {
				lt = &LaunchTemplate{}
			}
			switch name {
			case "launch-template-name":
				return []string{lt.Name}, true
			case "create-time":
				return []string{ec2Time(lt.CreateTime)}, true
			}
			return nil, false
		})
	if apiErr != nil {
		return nil, apiErr
	}
	lts, next, apiErr := ec2Page(r.Params, lts, func(lt *LaunchTemplate) string { return lt.ID }, 1, 200)
	if apiErr != nil {
		return nil, apiErr
	}
	out := struct {
		XMLName   xml.Name            `xml:"result"`
		Items     []launchTemplateXML `xml:"launchTemplates>item"`
		NextToken string              `xml:"nextToken,omitempty"`
	}{NextToken: next}
	for _, lt := range lts {
		out.Items = append(out.Items, s.launchTemplateXML(lt))
	}
	return out, nil
}

func (s *Sim) describeLaunchTemplateVersions(r *request) (any, *APIError) {
	lt, apiErr := s.launchTemplateParamLocked(r.Params)
	if apiErr != nil {
		return nil, apiErr
	}
	var versions []*LaunchTemplateData
	if want := ec2List(r.Params, "LaunchTemplateVersion"); len(want) > 0 {
		for _, v := range want {
			d, apiErr := lt.version(v)
			if apiErr != nil {
				return nil, apiErr
			}
			versions = append(versions, d)
		}
	} else {
		minV, _ := strconv.Atoi(r.Params.Get("MinVersion"))
		maxV, err := strconv.Atoi(r.Params.Get("MaxVersion"))
		if err != nil {
			maxV = lt.LatestVersion
		}
		for _, d := range lt.Versions {
			if d.Version >= minV && d.Version <= maxV {
				versions = append(versions, d)
			}
		}
	}
	// Newest first, as EC2 lists them; fixed-width keys sort that way.
	versions, next, apiErr := ec2Page(r.Params, versions, func(d *LaunchTemplateData) string { return strconv.Itoa(2e9 - d.Version) }, 1, 200)
	if apiErr != nil {
		return nil, apiErr
	}
	out := struct {
		XMLName   xml.Name                   `xml:"result"`
		Items     []launchTemplateVersionXML `xml:"launchTemplateVersionSet>item"`
		NextToken string                     `xml:"nextToken,omitempty"`
	}{NextToken: next}
	for _, d := range versions {
		out.Items = append(out.Items, s.launchTemplateVersionXML(lt, d))
	}
	return out, nil
}

func (s *Sim) deleteLaunchTemplate(r *request) (any, *APIError) {
	lt, apiErr := s.launchTemplateParamLocked(r.Params)
	if apiErr != nil {
		return nil, apiErr
	}
	delete(s.launchTemplates, lt.ID)
	return struct {
		XMLName        xml.Name          `xml:"result"`
		LaunchTemplate launchTemplateXML `xml:"launchTemplate"`
	}{xml.Name{}, s.launchTemplateXML(lt)}, nil
}

func (s *Sim) modifyLaunchTemplate(r *request) (any, *APIError) {
	lt, apiErr := s.launchTemplateParamLocked(r.Params)
	if apiErr != nil {
		return nil, apiErr
	}
	if v := r.Params.Get("SetDefaultVersion"); v != "" {
		d, apiErr := lt.version(v)
		if apiErr != nil {
			return nil, apiErr
		}
		lt.DefaultVersion = d.Version
	}
	return struct {
		XMLName        xml.Name          `xml:"result"`
		LaunchTemplate launchTemplateXML `xml:"launchTemplate"`
	}{xml.Name{}, s.launchTemplateXML(lt)}, nil
}

func (s *Sim) launchTemplateByNameLocked(name string) *LaunchTemplate {
	for _, lt := range s.launchTemplates {
		if lt.Name == name {
			return lt
		}
	}
	return nil
}

// launchTemplateParamLocked finds the template named by LaunchTemplateId or
// LaunchTemplateName.
func (s *Sim) launchTemplateParamLocked(p url.Values) (*LaunchTemplate, *APIError) {
	lt, _, apiErr := s.resolveLaunchTemplateLocked(LaunchTemplateSpec{
		ID: p.Get("LaunchTemplateId"), Name: p.Get("LaunchTemplateName"), Version: "$Latest",
	})
	return lt, apiErr
}

// resolveLaunchTemplateLocked finds a template by id or name and the
// version the spec asks for ("" = $Default), with EC2's errors. Auto Scaling
// launches may use it too.
func (s *Sim) resolveLaunchTemplateLocked(spec LaunchTemplateSpec) (*LaunchTemplate, *LaunchTemplateData, *APIError) {
	var lt *LaunchTemplate
	switch {
	case spec.ID != "":
		if lt = s.launchTemplates[spec.ID]; lt == nil {
			if !strings.HasPrefix(spec.ID, "lt-") {
				return nil, nil, errf("InvalidLaunchTemplateId.Malformed", 400, "The specified launch template ID is invalid: %s", spec.ID)
			}
			return nil, nil, errf("InvalidLaunchTemplateId.NotFound", 400, "The specified launch template, with template ID %s, does not exist.", spec.ID)
		}
	case spec.Name != "":
		if lt = s.launchTemplateByNameLocked(spec.Name); lt == nil {
			return nil, nil, errf("InvalidLaunchTemplateName.NotFoundException", 400, "The specified launch template, with template name %s, does not exist.", spec.Name)
		}
	default:
		return nil, nil, errf("MissingParameter", 400, "The request must contain the parameter LaunchTemplateName or LaunchTemplateId")
	}
	d, apiErr := lt.version(spec.Version)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	return lt, d, nil
}

// version resolves "$Latest", "$Default" ("" too) or a version number.
func (lt *LaunchTemplate) version(v string) (*LaunchTemplateData, *APIError) {
	var n int
	switch v {
	case "", "$Default":
		n = lt.DefaultVersion
	case "$Latest":
		n = lt.LatestVersion
	default:
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			return nil, errf("InvalidLaunchTemplateId.VersionNotFound", 400, "Could not find launch template version %s for launch template ID %s", v, lt.ID)
		}
	}
	d := lt.Versions[n]
	if d == nil {
		return nil, errf("InvalidLaunchTemplateId.VersionNotFound", 400, "Could not find launch template version %s for launch template ID %s", v, lt.ID)
	}
	return d, nil
}
