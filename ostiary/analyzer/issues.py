"""The catalogue of policy checks Ostiary runs: issue code → finding type and AWS's finding text.

The codes, types and texts are those of AWS's "IAM policy validation check reference" (the texts
that programmatic calls return). The reference calls one type GENERAL_WARNING; the API's enum says
WARNING, which is what is returned. Placeholders are `str.format` fields.
"""

from __future__ import annotations

# ruff: noqa: E501  (AWS's finding texts, kept whole so they can be compared with the reference)

E, S, W, G = "ERROR", "SECURITY_WARNING", "WARNING", "SUGGESTION"

_SLUGS = {E: "error", S: "security-warning", W: "general-warning", G: "suggestion"}
_LINK = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html"
_PASS = "can be overly permissive because it {how} iam:PassRole permissions on {scope} resources."
_PASS_FIX = " We recommend that you specify resource ARNs or add the iam:PassedToService condition key to your statement."
_SLR = "can allow creation of unintended service-linked roles because it {how} iam:CreateServiceLinkedRole permissions on {scope} resources. We recommend that you specify resource ARNs instead."

ISSUES: dict[str, tuple[str, str]] = {
    # errors
    "JSON_SYNTAX_ERROR": (E, "Fix the JSON syntax error at index {index} line {line} column {column}."),
    "INVALID_POLICY_ELEMENT": (E, "The policy element {element} is not valid."),
    "DATA_TYPE_MISMATCH": (E, "The text does not match the expected JSON data type {data_type}."),
    "MISSING_STATEMENT": (E, "Add a statement to the policy"),
    "MISSING_EFFECT": (E, "Add an Effect element to the policy statement with a value of Allow or Deny."),
    "INVALID_EFFECT": (E, "The effect {effect} is not valid. Use Allow or Deny."),
    "MISSING_ACTION": (E, "Add an Action or NotAction element to the policy statement."),
    "MISSING_RESOURCE": (E, "Add a Resource or NotResource element to the policy statement."),
    "MISSING_PRINCIPAL": (E, "Add a Principal element to the policy statement."),
    "INVALID_VERSION": (
        E,
        "The version {version} is not valid. Use one of the following versions: {versions}",
    ),
    "UNSUPPORTED_ELEMENT_COMBINATION": (
        E,
        "The policy elements {element1} and {element2} can not be used in the same statement. "
        "Remove one of these elements.",
    ),
    "UNSUPPORTED_PRINCIPAL": (
        E,
        "The policy type {policy_type} does not support the Principal element. Remove the Principal element.",
    ),
    "SCP_SYNTAX_ERROR_PRINCIPAL": (
        E,
        "SCPs do not support specifying principals. Remove the Principal or NotPrincipal element.",
    ),
    "SCP_SYNTAX_ERROR_ACTION_WILDCARD": (
        E,
        "SCP actions can include wildcards (*) only at the end of a string. Update {action}.",
    ),
    "UNIQUE_SIDS_REQUIRED": (
        E,
        "Duplicate statement IDs are not supported for this policy type. Update the Sid value.",
    ),
    "UNSUPPORTED_SID": (
        E,
        "Update the characters in the Sid element to use one of the following character types: "
        "[a-z, A-Z, 0-9]",
    ),
    "INVALID_ACTION": (E, "The action {action} does not exist.{suggestion}"),
    "INVALID_SERVICE_IN_ACTION": (
        E,
        "The service {service} specified in the action does not exist.{suggestion}",
    ),
    "INVALID_SERVICE": (E, "The service {service} does not exist. Use a valid service name."),
    "INVALID_SERVICE_CONDITION_KEY": (
        E,
        "The condition key {key} does not exist in the service {service}. Use a valid condition key.",
    ),
    "INVALID_GLOBAL_CONDITION_KEY": (E, "The condition key {key} does not exist. Use a valid condition key."),
    "INVALID_CONDITION_KEY_FORMAT": (
        E,
        "The condition key format is not valid. Use the format service:keyname.",
    ),
    "UNSUPPORTED_GLOBAL_CONDITION_KEY": (
        E,
        "The condition key aws:ARN is not supported. Use aws:PrincipalArn or aws:SourceArn instead.",
    ),
    "MISSING_TAG_KEY_IN_CONDITION": (
        E,
        "The condition key {key} must include a tag key to control access based on tags. "
        "Use the format {key}tag-key and specify a key name for tag-key.",
    ),
    "DUPLICATE_KEYS_WITH_DIFFERENT_CASE": (
        E,
        "The condition key {key} appears more than once with different capitalization in the same "
        "condition block. Remove the duplicate condition keys.",
    ),
    "INVALID_CONDITION_OPERATOR": (
        E,
        "The condition operator {operator} is not valid. Use a valid condition operator.",
    ),
    "INVALID_CONDITION_DATA_TYPE": (
        E,
        "The condition value data types do not match. Use condition values of the same JSON data type.",
    ),
    "INVALID_CONDITION_MULTIPLE_BOOLEAN": (
        E,
        "The condition key does not support multiple Boolean values. Use a single Boolean value.",
    ),
    "NULL_WITH_IF_EXISTS": (
        E,
        "The Null condition operator cannot be used with the IfExists suffix. Update the operator or the suffix.",
    ),
    "INVALID_VARIABLE_FOR_OPERATOR": (E, "Policy variables can only be used with String and ARN operators."),
    "VARIABLE_UNSUPPORTED_IN_VERSION": (
        E,
        "To include variables in your policy, use the policy version 2012-10-17 or later.",
    ),
    "VARIABLE_UNSUPPORTED_IN_ELEMENT": (
        E,
        "Policy variables are supported in the Resource and Condition elements. "
        "Remove the policy variable {variable} from this element.",
    ),
    "EMPTY_VARIABLE": (
        E,
        "Empty policy variable. Remove the ${{ }} variable structure or provide a variable within the structure.",
    ),
    "MISSING_BRACE_IN_VARIABLE": (
        E,
        "The policy variable is missing a closing curly brace. Add }} after the variable text.",
    ),
    "UNSUPPORTED_SPACE_IN_VARIABLE": (
        E,
        "A space is not supported within the policy variable text. Remove the space.",
    ),
    "TYPE_MISMATCH_IP_RANGE": (
        E,
        "The condition operator {operator} is used with an invalid IP range value. "
        "Specify the IP range in standard CIDR format.",
    ),
    "PRIVATE_IP_ADDRESS": (
        E,
        "aws:SourceIp works only for public IP address ranges. The values for condition key aws:SourceIp "
        "include only private IP addresses and will not have the desired effect. Update the value to "
        "include only public IP addresses.",
    ),
    "PRIVATE_NOT_IP_ADDRESS": (
        E,
        "The values for condition key aws:SourceIp include only private IP addresses and has no effect. "
        "aws:SourceIp works only for public IP address ranges. Update the value to include only public "
        "IP addresses.",
    ),
    "INVALID_VPC_FORMAT": (
        E,
        "The VPC identifier in the condition key value is not valid. "
        "Use the prefix 'vpc-' followed by 8 or 17 alphanumeric characters.",
    ),
    "INVALID_VPCE_FORMAT": (
        E,
        "The VPCE identifier in the condition key value is not valid.  "
        "Use the prefix 'vpce-' followed by 8 or 17 alphanumeric characters.",
    ),
    "INVALID_ARN_PREFIX": (E, "Add the required prefix (arn) to the resource ARN."),
    "MISSING_ARN_FIELD": (
        E,
        "Resource ARNs must include at least {fields} fields in the following structure: "
        "arn:partition:service:region:account:resource",
    ),
    "INVALID_PARTITION": (
        E,
        "The resource ARN for the service {service} does not support the partition {partition}. "
        "Use the supported values: {partitions}",
    ),
    "INVALID_ARN_SERVICE_CASE": (
        E,
        "Update the service name {service} in the resource ARN to use all lowercase letters.",
    ),
    "INVALID_ARN_ACCOUNT": (
        E,
        "The resource ARN account ID {account} is not valid. Provide a 12-digit account ID.",
    ),
    "ARN_REGION_NOT_ALLOWED": (
        E,
        "The service {service} does not support specifying a Region in the resource ARN.",
    ),
    "ARN_ACCOUNT_NOT_ALLOWED": (
        E,
        "The service {service} does not support specifying an account ID in the resource ARN.",
    ),
    "MISSING_ARN_REGION": (E, "Add a Region to the {service} resource ARN."),
    "INVALID_ARN_RESOURCE": (
        E,
        "Resource ARN does not match the expected ARN format. Update the resource portion of the ARN.",
    ),
    "INVALID_PRINCIPAL_FORMAT": (
        E,
        "The Principal element contents are not valid. Specify a key-value pair in the Principal element.",
    ),
    "INVALID_PRINCIPAL_KEY": (E, "The principal key {principal_key} is not valid."),
    "UNSUPPORTED_WILDCARD_IN_PRINCIPAL": (
        E,
        "Wildcards (*, ?) are not supported with the principal key {principal_key}. "
        "Replace the wildcard with a valid principal value.",
    ),
    "FEDERATED_PRINCIPAL_NOT_SUPPORTED": (
        E,
        "The policy type does not support a federated identity provider in the principal element. "
        "Use a supported principal.",
    ),
    "ROLE_TRUST_POLICY_SYNTAX_ERROR_NOTPRINCIPAL": (
        E,
        "Role trust policies do not support NotPrincipal. Update the policy to use a Principal element instead.",
    ),
    "ROLE_TRUST_POLICY_UNSUPPORTED_WILDCARD_IN_PRINCIPAL": (
        E,
        '"Principal:" "*" is not supported in the principal element of a role trust policy. '
        "Replace the wildcard with a valid principal value.",
    ),
    "ROLE_TRUST_POLICY_SYNTAX_ERROR_RESOURCE": (
        E,
        "Role trust policies apply to the role that they are attached to. You cannot specify a resource. "
        "Remove the Resource or NotResource element.",
    ),
    "UNSUPPORTED_ACTION_IN_POLICY": (
        E,
        "The action {action} is not supported for the resource-based policy attached to the resource type "
        "{resource_type}.",
    ),
    "UNSUPPORTED_RESOURCE_ARN_IN_POLICY": (
        E,
        "The resource ARN is not supported for the resource-based policy attached to the resource type "
        "{resource_type}.",
    ),
    "POLICY_SIZE_EXCEEDS_SCP_QUOTA": (
        E,
        "The {size} characters in the service control policy (SCP) exceed the {quota} character maximum "
        "for SCPs. We recommend that you use multiple granular policies.",
    ),
    # general warnings
    "MISSING_VERSION": (
        W,
        "We recommend that you specify the Version element to help you with debugging permission issues.",
    ),
    "UNIQUE_SIDS_RECOMMENDED": (
        W,
        "We recommend that you use statement IDs that are unique to your policy. Update the Sid value.",
    ),
    "WILDCARD_WITHOUT_LIKE_OPERATOR": (
        W,
        "Your condition value includes a * or ? character. If you meant to use a wildcard (*, ?), "
        "update the condition operator to include Like.",
    ),
    "TYPE_MISMATCH": (
        W,
        "Use the operator type {allowed} instead of operator {operator} for the condition key {key}.",
    ),
    "TYPE_MISMATCH_BOOLEAN": (
        W,
        "Add a valid Boolean value (true or false) for the condition operator {operator}.",
    ),
    "TYPE_MISMATCH_DATE": (
        W,
        "The date condition operator is used with an invalid value. Specify a valid date using YYYY-MM-DD "
        "or other ISO 8601 date/time format.",
    ),
    "TYPE_MISMATCH_NUMBER": (W, "Add a valid numeric value for the condition operator {operator}."),
    "TYPE_MISMATCH_STRING": (
        W,
        "Add a valid base64-encoded string value for the condition operator {operator}.",
    ),
    "POLICY_SIZE_EXCEEDS_IDENTITY_POLICY_QUOTA": (
        W,
        "The {size} characters in the identity policy, excluding whitespace, exceed the {quota} character "
        "maximum for inline and managed policies. We recommend that you use multiple granular policies.",
    ),
    "POLICY_SIZE_EXCEEDS_RESOURCE_POLICY_QUOTA": (
        W,
        "The {size} characters in the resource policy exceed the {quota} character maximum for resource "
        "policies. We recommend that you use multiple granular policies.",
    ),
    "POLICY_SIZE_EXCEEDS_ROLE_TRUST_POLICY_QUOTA": (
        W,
        "The characters in the role trust policy, excluding whitespace, exceed the character maximum. "
        "We recommend that you request a role trust policy length quota increase using Service Quotas and "
        "AWS Support Center. If the quotas have already been increased, then you can ignore this warning.",
    ),
    "CREATE_SLR_WITH_STAR_IN_RESOURCE": (
        W,
        "Using the iam:CreateServiceLinkedRole action with wildcards (*) in the resource can allow creation "
        "of unintended service-linked roles. We recommend that you specify resource ARNs instead.",
    ),
    "CREATE_SLR_WITH_STAR_IN_ACTION_AND_RESOURCE": (
        W,
        "Using wildcards (*) in the action and the resource " + _SLR.format(how="allows", scope="all"),
    ),
    "CREATE_SLR_WITH_STAR_IN_RESOURCE_AND_NOT_ACTION": (
        W,
        "Using a resource with wildcards (*) and NotAction " + _SLR.format(how="allows", scope="all"),
    ),
    "CREATE_SLR_WITH_NOT_RESOURCE": (
        W,
        "Using the iam:CreateServiceLinkedRole action with NotResource can allow creation of unintended "
        "service-linked roles for multiple resources. We recommend that you specify resource ARNs instead.",
    ),
    "CREATE_SLR_WITH_STAR_IN_ACTION_AND_NOT_RESOURCE": (
        W,
        "Using an action with a wildcard(*) and NotResource "
        + _SLR.format(how="can allow", scope="multiple"),
    ),
    "CREATE_SLR_WITH_NOT_ACTION_AND_NOT_RESOURCE": (
        W,
        "Using NotAction with NotResource " + _SLR.format(how="allows", scope="multiple"),
    ),
    # security warnings
    "PASS_ROLE_WITH_STAR_IN_RESOURCE": (
        S,
        "Using the iam:PassRole action with wildcards (*) in the resource "
        + _PASS.format(how="allows", scope="multiple")
        + _PASS_FIX,
    ),
    "PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE": (
        S,
        "Using wildcards (*) in the action and the resource "
        + _PASS.format(how="allows", scope="all")
        + _PASS_FIX,
    ),
    "PASS_ROLE_WITH_STAR_IN_RESOURCE_AND_NOT_ACTION": (
        S,
        "Using a resource with wildcards (*) and NotAction "
        + _PASS.format(how="allows", scope="all")
        + _PASS_FIX,
    ),
    "PASS_ROLE_WITH_NOT_RESOURCE": (
        S,
        "Using the iam:PassRole action with NotResource "
        + _PASS.format(how="can allow", scope="multiple")
        + " We recommend that you specify resource ARNs instead.",
    ),
    "PASS_ROLE_WITH_STAR_IN_ACTION_AND_NOT_RESOURCE": (
        S,
        "Using an action with a wildcard (*) and NotResource "
        + _PASS.format(how="can allow", scope="multiple")
        + " We recommend that you specify resource ARNs instead.",
    ),
    "PASS_ROLE_WITH_NOT_ACTION_AND_NOT_RESOURCE": (
        S,
        "Using NotAction with NotResource "
        + _PASS.format(how="can allow", scope="multiple")
        + ". We recommend that you specify resource ARNs instead.",
    ),
    "ALLOW_WITH_NOT_PRINCIPAL": (
        S,
        "Using Allow with NotPrincipal can be overly permissive. We recommend that you use Principal instead.",
    ),
    "FORALLVALUES_WITH_SINGLE_VALUED_KEY": (
        S,
        "Using ForAllValues qualifier with the single-valued condition key {key} can be overly permissive. "
        "We recommend that you remove ForAllValues:.",
    ),
    "STRING_LIKE_OPERATOR_WITH_ARN_CONDITION_KEYS": (
        S,
        "Use the operator type {allowed} instead of operator {operator} for the condition key {key}.",
    ),
    "MISSING_GITHUB_REPO_CONDITION_KEY": (
        S,
        "Granting a federated GitHub principal permissions without a condition key can allow more sources "
        "to assume the role than you intended. Add the token.actions.githubusercontent.com:sub condition "
        "key and specify the branch and repository name in the value.",
    ),
    # suggestions
    "EMPTY_ARRAY_ACTION": (
        G,
        "This statement includes no actions and does not affect the policy. Specify actions.",
    ),
    "EMPTY_ARRAY_RESOURCE": (
        G,
        "This statement includes no resources and does not affect the policy. Specify resources.",
    ),
    "EMPTY_ARRAY_PRINCIPAL": (
        G,
        "This statement includes no principals and does not affect the policy. Specify principals.",
    ),
    "EMPTY_OBJECT_PRINCIPAL": (
        G,
        "This statement includes no principals and does not affect the policy. Specify principals.",
    ),
    "EMPTY_OBJECT_CONDITION": (
        G,
        "This condition block is empty and it does not affect the policy. Specify conditions.",
    ),
    "EMPTY_ARRAY_CONDITION": (
        G,
        "There are no values for the condition key {key} and it does not affect the policy. Specify conditions.",
    ),
    "EMPTY_ARRAY_CONDITION_FORALLVALUES": (
        G,
        "The ForAllValues prefix with an empty condition key matches only if the key {key} is missing from "
        "the request context. To determine if the request context is empty, we recommend that you use the "
        "Null condition operator with the value of true instead.",
    ),
    "EMPTY_ARRAY_CONDITION_FORANYVALUE": (
        G,
        "The ForAnyValue prefix with an empty condition key {key} never matches the request context and it "
        "does not affect the policy. Specify conditions.",
    ),
    "EMPTY_ARRAY_CONDITION_IFEXISTS": (
        G,
        "The IfExists suffix with an empty condition key matches only if the key {key} is missing from the "
        "request context. To determine if the request context is empty, we recommend that you use the Null "
        "condition operator with the value of true instead.",
    ),
    "EMPTY_SID_VALUE": (G, "Add a value to the empty string in the Sid element."),
    "NULL_WITH_QUALIFIER": (
        G,
        "Avoid using the Null condition operator with the ForAllValues or ForAnyValue qualifiers because "
        "they always return a true or false respectively.",
    ),
    "IMPROVE_IP_RANGE": (
        G,
        "The non-zero bits in the IP address after the masked bits are ignored. Replace address with {address}.",
    ),
    "PRIVATE_IP_ADDRESS_SUBSET": (
        G,
        "The values for condition key aws:SourceIp include a mix of private and public IP addresses. The "
        "private addresses will not have the desired effect. aws:SourceIp works only for public IP address "
        "ranges. To define permissions for private IP ranges, use aws:VpcSourceIp.",
    ),
    "PRIVATE_NOT_IP_ADDRESS_SUBSET": (
        G,
        "The values for condition key aws:SourceIp include a mix of private and public IP addresses. The "
        "private addresses have no effect. aws:SourceIp works only for public IP address ranges. To define "
        "permissions for private IP ranges, use aws:VpcSourceIp.",
    ),
    "REDUNDANT_ACTION": (
        G,
        "The {count} action(s) are redundant because they provide similar permissions. Update the policy to "
        "remove the redundant action such as: {action}.",
    ),
    "REDUNDANT_RESOURCE": (
        G,
        "The {count} resource ARN(s) are redundant because they reference the same resource. Review the use "
        "of wildcards (*)",
    ),
    "REDUNDANT_STATEMENT": (
        G,
        "The statements are redundant because they provide identical permissions. Update the policy to remove "
        "the redundant statement.",
    ),
    "WILDCARD_IN_SERVICE_NAME": (
        G,
        "Avoid using wildcards (*, ?) in the service name because it might grant unintended access to other "
        "AWS services with similar names.",
    ),
}


def details(code: str, **fields: object) -> str:
    """The finding text of an issue code with its fields filled in."""
    return ISSUES[code][1].format(**fields)


def learn_more_link(code: str) -> str:
    """The link to the issue's section of AWS's check reference."""
    kind = ISSUES[code][0]
    return f"{_LINK}#access-analyzer-reference-policy-checks-{_SLUGS[kind]}-{code.lower().replace('_', '-')}"
