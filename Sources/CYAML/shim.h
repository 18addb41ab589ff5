#ifndef FIELDLINK_CYAML_H
#define FIELDLINK_CYAML_H
/* libyaml's event parser (Debian libyaml-dev, pkg-config yaml-0.1): FieldlinkYAML composes its node tree. */
#include <yaml.h>
#endif
