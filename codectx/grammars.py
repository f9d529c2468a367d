"""Which tree-sitter grammar outlines which language, and what its outline holds.

Every grammar is an official per-language wheel from PyPI (tree-sitter-<language>), installed with
codectx; nothing is downloaded at run time. GRAMMARS names each grammar's package and what its
outlines list (the README's coverage table is checked against it); SPECS holds the queries.
"""

from __future__ import annotations

from dataclasses import dataclass

# pygments alias (codectx.languages) -> grammar name.
GRAMMAR_BY_LANGUAGE = {
    "python": "python", "python3": "python", "py": "python",
    "javascript": "javascript", "js": "javascript", "jsx": "javascript",
    "typescript": "typescript", "ts": "typescript", "tsx": "tsx",
    "go": "go", "rust": "rust", "java": "java", "c": "c", "cpp": "cpp",
    "ruby": "ruby", "csharp": "c_sharp",
}  # fmt: skip
HEADER_GRAMMAR = "cpp"  # .h files pygments calls objective-c are almost always C or C++ headers

# Kinds whose function members are methods.
CLASS_LIKE = frozenset(
    {"class", "struct", "interface", "trait", "impl", "enum", "record", "union", "object", "protocol", "extension"}
)
# Kinds whose bodies run code: what they assign to an object's member is local, not an API.
LOCAL_SCOPES = frozenset({"function", "method", "property"})

_JS_DEFINITIONS = """
(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(class_declaration name: (_) @name) @definition.class
(method_definition name: (_) @name) @definition.method
(variable_declarator name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function) (class)]) @definition.function
(assignment_expression
  left: (member_expression object: (member_expression property: (property_identifier) @_proto)
    property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function)]
  (#eq? @_proto "prototype")) @definition.method
(assignment_expression left: (member_expression object: (identifier) @_obj property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function) (class)]
  (#not-eq? @_obj "exports")) @definition.member
(assignment_expression
  left: (member_expression object: (identifier) @_obj property: (property_identifier) @name) @definition.member
  right: (assignment_expression right: [(arrow_function) (function_expression) (generator_function)])
  (#not-eq? @_obj "exports"))
(assignment_expression left: (member_expression object: (identifier) @_obj property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function) (class)]
  (#eq? @_obj "exports")) @definition.function
(assignment_expression left: (member_expression object: (identifier) @_obj property: (property_identifier) @name)
  (#eq? @_obj "exports")) @definition.variable
(assignment_expression
  left: (member_expression object: (member_expression object: (identifier) @_m property: (property_identifier) @_e)
    property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function) (class)]
  (#eq? @_m "module") (#eq? @_e "exports")) @definition.function
(assignment_expression
  left: (member_expression object: (member_expression object: (identifier) @_m property: (property_identifier) @_e)
    property: (property_identifier) @name)
  (#eq? @_m "module") (#eq? @_e "exports")) @definition.variable
(assignment_expression
  left: (member_expression object: (identifier) @_m property: (property_identifier) @_e)
  right: [(function_expression name: (identifier) @name) (class name: (_) @name)]
  (#eq? @_m "module") (#eq? @_e "exports")) @definition.function
(assignment_expression
  left: (member_expression object: (identifier) @_m property: (property_identifier) @_e)
  right: (object (pair key: [(property_identifier) @name (string (string_fragment) @name)]
    value: [(arrow_function) (function_expression) (generator_function)]) @definition.function)
  (#eq? @_m "module") (#eq? @_e "exports"))
(assignment_expression
  left: (member_expression object: (identifier) @_m property: (property_identifier) @_e)
  right: (object (pair key: [(property_identifier) @name (string (string_fragment) @name)]) @definition.variable)
  (#eq? @_m "module") (#eq? @_e "exports"))
(call_expression
  arguments: (arguments . [(identifier) (member_expression) (this)] . (string (string_fragment) @name)
    . [(function_expression) (arrow_function)] .)
  (#match? @name "^[A-Za-z_$][A-Za-z0-9_$]*$")) @definition.property
(call_expression function: (member_expression property: (property_identifier) @_define)
  arguments: (arguments . (_) . (string (string_fragment) @name) . (object) .)
  (#eq? @_define "defineProperty")) @definition.property
"""
_JS_IMPORTS = """
(import_statement source: (string (string_fragment) @import))
(export_statement source: (string (string_fragment) @import))
(call_expression function: (identifier) @_fn arguments: (arguments . (string (string_fragment) @import))
  (#eq? @_fn "require"))
"""
_TS_DEFINITIONS = (
    _JS_DEFINITIONS
    + """
(abstract_class_declaration name: (type_identifier) @name) @definition.class
(interface_declaration name: (type_identifier) @name) @definition.interface
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.enum
(internal_module name: (_) @name) @definition.namespace
(function_signature name: (identifier) @name) @definition.function
(method_signature name: (_) @name) @definition.method
(abstract_method_signature name: (_) @name) @definition.method
"""
)
_C_DEFINITIONS = """
(function_definition declarator: (_) @declarator) @definition.function
(struct_specifier name: (type_identifier) @name body: (_)) @definition.struct
(union_specifier name: (type_identifier) @name body: (_)) @definition.union
(enum_specifier name: (type_identifier) @name body: (_)) @definition.enum
(type_definition declarator: (type_identifier) @name) @definition.type
(preproc_def name: (identifier) @name) @definition.macro
(preproc_function_def name: (identifier) @name) @definition.macro
"""


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    """What a grammar outlines.

    `definitions` captures `@definition.<kind>` on a definition's node and `@name` on its name (several
    `@name` captures are joined with "."); when one node matches several patterns, the first pattern
    in the query gives its kind. `imports` captures `@import`; `identifiers` are the node types counted
    as references. `verbatim` names (headings, selectors, keys) keep their text, on one line. Symbols
    nested deeper than `max_depth` (0: no limit) are left out, with everything inside them.
    """

    definitions: str
    imports: str = ""
    identifiers: tuple[str, ...] = ()
    verbatim: bool = False
    max_depth: int = 0


SPECS: dict[str, LanguageSpec] = {
    "python": LanguageSpec(
        """
        (class_definition name: (identifier) @name) @definition.class
        (function_definition name: (identifier) @name) @definition.function
        (module (expression_statement (assignment left: (identifier) @name) @definition.variable))
        """,
        """
        (import_statement name: (dotted_name) @import)
        (import_statement name: (aliased_import name: (dotted_name) @import))
        (import_from_statement) @from_import
        """,
        ("identifier",),
    ),
    "javascript": LanguageSpec(_JS_DEFINITIONS, _JS_IMPORTS, ("identifier", "property_identifier")),
    "typescript": LanguageSpec(_TS_DEFINITIONS, _JS_IMPORTS, ("identifier", "property_identifier", "type_identifier")),
    "tsx": LanguageSpec(_TS_DEFINITIONS, _JS_IMPORTS, ("identifier", "property_identifier", "type_identifier")),
    "go": LanguageSpec(
        """
        (function_declaration name: (identifier) @name) @definition.function
        (method_declaration name: (field_identifier) @name) @definition.method
        (type_spec name: (type_identifier) @name) @definition.type
        (const_spec name: (identifier) @name) @definition.constant
        """,
        "(import_spec path: (_) @import)",
        ("identifier", "type_identifier", "field_identifier", "package_identifier"),
    ),
    "rust": LanguageSpec(
        """
        (struct_item name: (type_identifier) @name) @definition.struct
        (enum_item name: (type_identifier) @name) @definition.enum
        (union_item name: (type_identifier) @name) @definition.union
        (type_item name: (type_identifier) @name) @definition.type
        (trait_item name: (type_identifier) @name) @definition.trait
        (impl_item type: (_) @name) @definition.impl
        (function_item name: (identifier) @name) @definition.function
        (function_signature_item name: (identifier) @name) @definition.function
        (mod_item name: (identifier) @name) @definition.module
        (macro_definition name: (identifier) @name) @definition.macro
        (const_item name: (identifier) @name) @definition.constant
        (static_item name: (identifier) @name) @definition.constant
        (source_file (expression_statement (macro_invocation macro: (identifier) @_macro
          (token_tree . (identifier) @name)) @definition.test) (#match? @_macro "[Tt]est"))
        (source_file (macro_invocation macro: (identifier) @_macro
          (token_tree . (identifier) @name)) @definition.test (#match? @_macro "[Tt]est"))
        (declaration_list (macro_invocation macro: (identifier) @_macro
          (token_tree . (identifier) @name)) @definition.test (#match? @_macro "[Tt]est"))
        """,
        "(use_declaration argument: (_) @import)",
        ("identifier", "type_identifier", "field_identifier"),
    ),
    "java": LanguageSpec(
        """
        (class_declaration name: (identifier) @name) @definition.class
        (interface_declaration name: (identifier) @name) @definition.interface
        (enum_declaration name: (identifier) @name) @definition.enum
        (record_declaration name: (identifier) @name) @definition.record
        (annotation_type_declaration name: (identifier) @name) @definition.interface
        (method_declaration name: (identifier) @name) @definition.method
        (constructor_declaration name: (identifier) @name) @definition.constructor
        """,
        "(import_declaration [(scoped_identifier) (identifier)] @import)",
        ("identifier", "type_identifier"),
    ),
    "c": LanguageSpec(
        _C_DEFINITIONS, "(preproc_include path: (_) @import)", ("identifier", "type_identifier", "field_identifier")
    ),
    "cpp": LanguageSpec(
        _C_DEFINITIONS
        + """
        (class_specifier name: (type_identifier) @name body: (_)) @definition.class
        (namespace_definition name: (_) @name) @definition.namespace
        (field_declaration declarator: (function_declarator declarator: (_) @name)) @definition.method
        """,
        "(preproc_include path: (_) @import)",
        ("identifier", "type_identifier", "field_identifier", "namespace_identifier"),
    ),
    "ruby": LanguageSpec(
        """
        (class name: (_) @name) @definition.class
        (module name: (_) @name) @definition.module
        (method name: (_) @name) @definition.function
        (singleton_method name: (_) @name) @definition.function
        """,
        """
        (call method: (identifier) @_fn arguments: (argument_list . (string (string_content) @import))
          (#match? @_fn "^(require|require_relative|load|autoload)$"))
        """,
        ("identifier", "constant"),
    ),
    "c_sharp": LanguageSpec(
        """
        (class_declaration name: (identifier) @name) @definition.class
        (struct_declaration name: (identifier) @name) @definition.struct
        (interface_declaration name: (identifier) @name) @definition.interface
        (enum_declaration name: (identifier) @name) @definition.enum
        (record_declaration name: (identifier) @name) @definition.record
        (method_declaration name: (identifier) @name) @definition.method
        (constructor_declaration name: (identifier) @name) @definition.constructor
        (property_declaration name: (identifier) @name) @definition.property
        (namespace_declaration name: (_) @name) @definition.namespace
        (file_scoped_namespace_declaration name: (_) @name) @definition.namespace
        """,
        "(using_directive [(qualified_name) (identifier)] @import)",
        ("identifier",),
    ),
}


# --- languages outlined beyond code: shell, configuration, markup and more languages ----------------

GRAMMAR_BY_LANGUAGE.update(
    {
        "bash": "bash", "sh": "bash", "zsh": "bash", "shell": "bash", "ksh": "bash",
        "yaml": "yaml", "toml": "toml", "json": "json", "json-object": "json",
        "html": "html", "xml": "xml", "css": "css", "scss": "scss",
        "markdown": "markdown", "md": "markdown", "make": "make", "makefile": "make", "basemake": "make",
        "lua": "lua", "php": "php", "php3": "php", "php4": "php", "php5": "php", "html+php": "php",
        "scala": "scala", "kotlin": "kotlin", "swift": "swift", "elixir": "elixir", "haskell": "haskell",
        "ocaml": "ocaml", "zig": "zig", "terraform": "hcl", "hcl": "hcl", "objective-c": "objc",
        "julia": "julia", "docker": "dockerfile", "dockerfile": "dockerfile",
        "sql": "sql", "tsql": "sql", "mysql": "sql", "postgresql": "sql", "plpgsql": "sql", "sqlite3": "sql",
        "nixos": "nix", "nix": "nix", "perl": "perl", "powershell": "powershell",
        "verilog": "verilog", "systemverilog": "verilog", "fortran": "fortran", "groovy": "groovy",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Grammar:
    package: str  # on PyPI
    outlines: str  # what an outline lists, as the README's coverage table says it
    module: str = ""  # import name, when it is not tree_sitter_<grammar>
    function: str = "language"  # the module's function that returns the language


GRAMMARS: dict[str, Grammar] = {
    "python": Grammar("tree-sitter-python", "classes, functions, methods, module variables; imports"),
    "javascript": Grammar(
        "tree-sitter-javascript",
        "classes, functions, methods, `obj.x = function`, `X.prototype.y`, `exports.x`, `module.exports` "
        "members, `defineGetter(obj, 'name', fn)` getters; imports and requires",
    ),
    "typescript": Grammar(
        "tree-sitter-typescript",
        "as JavaScript, plus interfaces, type aliases, enums, namespaces, signatures",
        function="language_typescript",
    ),
    "tsx": Grammar("tree-sitter-typescript", "as TypeScript", module="tree_sitter_typescript", function="language_tsx"),
    "go": Grammar("tree-sitter-go", "functions, methods, types, constants; imports"),
    "rust": Grammar(
        "tree-sitter-rust",
        "structs, enums, unions, traits, impls, functions, modules, macros, constants, tests defined by "
        "`*test*!(name, ...)` macros; `use`",
    ),
    "java": Grammar("tree-sitter-java", "classes, interfaces, enums, records, methods, constructors; imports"),
    "c": Grammar("tree-sitter-c", "functions, structs, unions, enums, typedefs, macros; includes"),
    "cpp": Grammar("tree-sitter-cpp", "as C, plus classes, namespaces, method declarations; includes"),
    "ruby": Grammar("tree-sitter-ruby", "classes, modules, methods; require, load, autoload"),
    "c_sharp": Grammar(
        "tree-sitter-c-sharp",
        "namespaces, classes, structs, interfaces, enums, records, methods, constructors, properties; using",
    ),
    "bash": Grammar("tree-sitter-bash", "functions; `source` and `.`"),
    "yaml": Grammar("tree-sitter-yaml", "keys of the top two mapping levels of each document"),
    "toml": Grammar("tree-sitter-toml", "tables, array tables and their keys, top-level keys"),
    "json": Grammar("tree-sitter-json", "keys of the top two object levels"),
    "html": Grammar("tree-sitter-html", "headings (h1-h6), elements with an id; script src and link href"),
    "xml": Grammar("tree-sitter-xml", "elements of the top two levels", function="language_xml"),
    "css": Grammar("tree-sitter-css", "rules (their selectors), @media, @keyframes; @import"),
    "scss": Grammar("tree-sitter-scss", "as CSS, plus mixins and functions; @use, @import, @forward"),
    "markdown": Grammar("tree-sitter-markdown", "headings, nested by section"),
    "make": Grammar("tree-sitter-make", "targets, variables, `define` macros; include"),
    "lua": Grammar("tree-sitter-lua", "functions, `M.f`/`M:f` functions and methods; require"),
    "php": Grammar(
        "tree-sitter-php",
        "namespaces, classes, interfaces, traits, enums, functions, methods, constants; use, require, include",
        function="language_php",
    ),
    "scala": Grammar("tree-sitter-scala", "classes, objects, traits, enums, functions, types, vals; imports"),
    "kotlin": Grammar(
        "tree-sitter-kotlin", "classes, interfaces, objects, functions, top-level properties, type aliases; imports"
    ),
    "swift": Grammar(
        "tree-sitter-swift",
        "classes, structs, enums, extensions, protocols, functions, initialisers, type aliases; imports",
    ),
    "elixir": Grammar(
        "tree-sitter-elixir", "modules, protocols, def/defp/defmacro functions; alias, import, require, use"
    ),
    "haskell": Grammar(
        "tree-sitter-haskell", "data types, newtypes, type synonyms, classes, instances, functions; imports"
    ),
    "ocaml": Grammar(
        "tree-sitter-ocaml",
        "let bindings (functions and values), types, modules, module types, exceptions, classes; open",
        function="language_ocaml",
    ),
    "zig": Grammar("tree-sitter-zig", "functions, structs, enums, unions, tests, top-level constants; @import"),
    "hcl": Grammar("tree-sitter-hcl", "top-level blocks, named by type and labels (`resource.aws_s3_bucket.logs`)"),
    "objc": Grammar(
        "tree-sitter-objc",
        "as C, plus @interface, @implementation, @protocol and methods; #import and #include",
    ),
    "julia": Grammar(
        "tree-sitter-julia", "modules, structs, abstract types, functions, macros, constants; using, import"
    ),
    "dockerfile": Grammar("tree-sitter-dockerfile", "build stages (FROM, named by their alias)"),
    "sql": Grammar("tree-sitter-sql", "tables, views, functions, indexes"),
    "nix": Grammar("tree-sitter-nix", "attributes of the top two levels"),
    "perl": Grammar("tree-sitter-perl", "packages, subroutines; use, require"),
    "powershell": Grammar("tree-sitter-powershell", "functions, classes, methods, enums"),
    "verilog": Grammar("tree-sitter-verilog", "modules, functions, tasks"),
    "fortran": Grammar("tree-sitter-fortran", "programs, modules, functions, subroutines, derived types; use"),
    "groovy": Grammar("tree-sitter-groovy", "classes, interfaces, methods, functions; imports"),
}

# Display names for the README's coverage table.
LANGUAGE_NAMES = {
    "python": "Python", "javascript": "JavaScript, JSX", "typescript": "TypeScript", "tsx": "TSX", "go": "Go",
    "rust": "Rust", "java": "Java", "c": "C", "cpp": "C++ (and .h headers)", "ruby": "Ruby", "c_sharp": "C#",
    "bash": "Shell (bash, sh, zsh)", "yaml": "YAML", "toml": "TOML", "json": "JSON", "html": "HTML", "xml": "XML",
    "css": "CSS", "scss": "SCSS", "markdown": "Markdown", "make": "Makefile", "lua": "Lua", "php": "PHP",
    "scala": "Scala", "kotlin": "Kotlin", "swift": "Swift", "elixir": "Elixir", "haskell": "Haskell",
    "ocaml": "OCaml", "zig": "Zig", "hcl": "HCL, Terraform", "objc": "Objective-C", "julia": "Julia",
    "dockerfile": "Dockerfile", "sql": "SQL", "nix": "Nix", "perl": "Perl", "powershell": "PowerShell",
    "verilog": "Verilog, SystemVerilog", "fortran": "Fortran", "groovy": "Groovy",
}  # fmt: skip


def grammar_module(grammar: str) -> tuple[str, str]:
    """(import name, function name) that give this grammar's language."""
    found = GRAMMARS[grammar]
    return found.module or f"tree_sitter_{grammar}", found.function


_CSS_DEFINITIONS = """
(rule_set (selectors) @name) @definition.rule
(media_statement) @definition.media @name
(keyframes_statement (keyframes_name) @name) @definition.keyframes
"""

SPECS.update(
    {
        "bash": LanguageSpec(
            "(function_definition name: (word) @name) @definition.function",
            """
            (command name: (command_name (word) @_cmd) . argument: [(word) (string) (raw_string)] @import
              (#match? @_cmd "^(source|[.])$"))
            """,
            ("command_name",),
        ),
        "yaml": LanguageSpec(
            """
            (document (block_node (block_mapping (block_mapping_pair key: (_) @name) @definition.key)))
            (document (block_node (block_mapping (block_mapping_pair
              value: (block_node (block_mapping (block_mapping_pair key: (_) @name) @definition.key))))))
            """,
            verbatim=True,
        ),
        "toml": LanguageSpec(
            """
            (table . [(bare_key) (dotted_key) (quoted_key)] @name) @definition.table
            (table_array_element . [(bare_key) (dotted_key) (quoted_key)] @name) @definition.table
            (document (pair . (_) @name) @definition.key)
            (table (pair . (_) @name) @definition.key)
            (table_array_element (pair . (_) @name) @definition.key)
            """,
            verbatim=True,
        ),
        "json": LanguageSpec(
            """
            (document (object (pair key: (string (string_content) @name)) @definition.key))
            (document (object (pair value: (object (pair key: (string (string_content) @name)) @definition.key))))
            """,
            verbatim=True,
        ),
        "html": LanguageSpec(
            """
            (element (start_tag (tag_name) @_tag) . (text) @name (#match? @_tag "^[hH][1-6]$")) @definition.heading
            (element (start_tag (attribute (attribute_name) @_id
              [(quoted_attribute_value (attribute_value) @name) (attribute_value) @name]) (#eq? @_id "id")))
              @definition.element
            """,
            """
            (script_element (start_tag (attribute (attribute_name) @_src
              (quoted_attribute_value (attribute_value) @import)) (#eq? @_src "src")))
            (element (start_tag (tag_name) @_tag (attribute (attribute_name) @_href
              (quoted_attribute_value (attribute_value) @import))) (#eq? @_tag "link") (#eq? @_href "href"))
            """,
            verbatim=True,
        ),
        "xml": LanguageSpec(
            """
            (element (STag (Name) @name)) @definition.element
            (element (EmptyElemTag (Name) @name)) @definition.element
            """,
            verbatim=True,
            max_depth=2,
        ),
        "css": LanguageSpec(_CSS_DEFINITIONS, "(import_statement (string_value) @import)", verbatim=True),
        "scss": LanguageSpec(
            _CSS_DEFINITIONS
            + """
            (mixin_statement name: (identifier) @name) @definition.mixin
            (function_statement name: (identifier) @name) @definition.function
            """,
            """
            (import_statement (string_value) @import)
            (use_statement (string_value) @import)
            (forward_statement (string_value) @import)
            """,
            verbatim=True,
        ),
        "markdown": LanguageSpec(
            """
            (section . (atx_heading heading_content: (_) @name)) @definition.heading
            (setext_heading heading_content: (_) @name) @definition.heading
            """,
            verbatim=True,
        ),
        "make": LanguageSpec(
            """
            (rule (targets) @name (#not-match? @name "^[.][A-Z_]+$")) @definition.target
            (makefile (variable_assignment name: (word) @name) @definition.variable)
            (define_directive name: (word) @name) @definition.macro
            """,
            "(include_directive filenames: (list (word) @import))",
            verbatim=True,
        ),
        "lua": LanguageSpec(
            """
            (function_declaration name: (identifier) @name) @definition.function
            (function_declaration name: (dot_index_expression field: (identifier) @name)) @definition.function
            (function_declaration name: (method_index_expression method: (identifier) @name)) @definition.method
            (assignment_statement
              (variable_list name: [(identifier) @name (dot_index_expression field: (identifier) @name)])
              (expression_list value: (function_definition))) @definition.function
            """,
            """
            (function_call name: (identifier) @_fn arguments: (arguments . (string content: (string_content) @import))
              (#eq? @_fn "require"))
            """,
            ("identifier",),
        ),
        "php": LanguageSpec(
            """
            (namespace_definition name: (_) @name) @definition.namespace
            (interface_declaration name: (name) @name) @definition.interface
            (trait_declaration name: (name) @name) @definition.trait
            (class_declaration name: (name) @name) @definition.class
            (enum_declaration name: (name) @name) @definition.enum
            (function_definition name: (name) @name) @definition.function
            (method_declaration name: (name) @name) @definition.method
            (const_declaration (const_element (name) @name)) @definition.constant
            """,
            """
            (namespace_use_clause [(qualified_name) (name)] @import)
            ([(require_expression) (require_once_expression) (include_expression) (include_once_expression)]
              (string (string_content) @import))
            """,
            ("name",),
        ),
        "scala": LanguageSpec(
            """
            (class_definition name: (identifier) @name) @definition.class
            (object_definition name: (identifier) @name) @definition.object
            (trait_definition name: (identifier) @name) @definition.trait
            (enum_definition name: (identifier) @name) @definition.enum
            (function_definition name: (identifier) @name) @definition.function
            (function_declaration name: (identifier) @name) @definition.function
            (type_definition name: (type_identifier) @name) @definition.type
            (val_definition pattern: (identifier) @name) @definition.variable
            """,
            "(import_declaration) @import",
            ("identifier", "type_identifier"),
        ),
        "kotlin": LanguageSpec(
            """
            (class_declaration name: (identifier) @name) @definition.class
            (object_declaration name: (identifier) @name) @definition.object
            (function_declaration name: (identifier) @name) @definition.function
            (source_file (property_declaration (variable_declaration (identifier) @name)) @definition.variable)
            (type_alias type: (identifier) @name) @definition.type
            """,
            "(import (qualified_identifier) @import)",
            ("identifier",),
        ),
        "swift": LanguageSpec(
            """
            (class_declaration declaration_kind: "struct" name: (_) @name) @definition.struct
            (class_declaration declaration_kind: "enum" name: (_) @name) @definition.enum
            (class_declaration declaration_kind: "extension" name: (_) @name) @definition.extension
            (class_declaration name: (_) @name) @definition.class
            (protocol_declaration name: (type_identifier) @name) @definition.protocol
            (function_declaration name: (simple_identifier) @name) @definition.function
            (protocol_function_declaration name: (simple_identifier) @name) @definition.method
            (init_declaration "init" @name) @definition.constructor
            (typealias_declaration name: (type_identifier) @name) @definition.type
            """,
            "(import_declaration (identifier) @import)",
            ("simple_identifier", "type_identifier"),
        ),
        "elixir": LanguageSpec(
            """
            (call target: (identifier) @_def (arguments . (alias) @name)
              (#match? @_def "^(defmodule|defprotocol|defimpl)$")) @definition.module
            (call target: (identifier) @_def
              (arguments . [(call target: (identifier) @name) (identifier) @name
                            (binary_operator left: (call target: (identifier) @name))])
              (#match? @_def "^(def|defp|defmacro|defmacrop|defguard|defguardp|defdelegate)$")) @definition.function
            """,
            """
            (call target: (identifier) @_kw (arguments . (alias) @import)
              (#match? @_kw "^(alias|import|require|use)$"))
            """,
            ("identifier", "alias"),
        ),
        "haskell": LanguageSpec(
            """
            (data_type name: (name) @name) @definition.type
            (newtype name: (name) @name) @definition.type
            (type_synonym name: (name) @name) @definition.type
            (class name: (name) @name) @definition.class
            (instance name: (name) @name) @definition.instance
            (class_declarations (signature name: (variable) @name) @definition.method)
            (declarations (function name: (variable) @name) @definition.function)
            (declarations (bind name: (variable) @name) @definition.function)
            """,
            "(import module: (module) @import)",
            ("variable", "name", "constructor"),
        ),
        "ocaml": LanguageSpec(
            """
            (value_definition (let_binding pattern: (value_name) @name (parameter))) @definition.function
            (value_definition (let_binding pattern: (value_name) @name)) @definition.value
            (type_definition (type_binding name: (type_constructor) @name)) @definition.type
            (module_definition (module_binding (module_name) @name)) @definition.module
            (module_type_definition (module_type_name) @name) @definition.module
            (exception_definition (constructor_declaration (constructor_name) @name)) @definition.exception
            (class_definition (class_binding name: (class_name) @name)) @definition.class
            """,
            "(open_module module: (_) @import)",
            ("value_name", "type_constructor", "module_name"),
        ),
        "zig": LanguageSpec(
            """
            (function_declaration name: (identifier) @name) @definition.function
            (variable_declaration (identifier) @name (struct_declaration)) @definition.struct
            (variable_declaration (identifier) @name (enum_declaration)) @definition.enum
            (variable_declaration (identifier) @name (union_declaration)) @definition.union
            (test_declaration (string (string_content) @name)) @definition.test
            (source_file (variable_declaration (identifier) @name) @definition.constant)
            """,
            """
            (builtin_function (builtin_identifier) @_fn (arguments . (string (string_content) @import))
              (#eq? @_fn "@import"))
            """,
            ("identifier",),
        ),
        "hcl": LanguageSpec(
            """
            (config_file (body (block . (identifier) @name
              (string_lit (template_literal) @name)* (block_start)) @definition.block))
            """,
            verbatim=True,
        ),
        "objc": LanguageSpec(
            _C_DEFINITIONS
            + """
            (class_interface . (identifier) @name) @definition.interface
            (class_implementation . (identifier) @name) @definition.class
            (protocol_declaration . (identifier) @name) @definition.protocol
            (method_declaration (method_type) . (identifier) @name) @definition.method
            (method_definition (method_type) . (identifier) @name) @definition.method
            """,
            "(preproc_include path: (_) @import)",
            ("identifier", "type_identifier", "field_identifier"),
        ),
        "julia": LanguageSpec(
            """
            (module_definition name: (identifier) @name) @definition.module
            (struct_definition (type_head . (identifier) @name)) @definition.struct
            (abstract_definition (type_head . (identifier) @name)) @definition.type
            (function_definition (signature (call_expression . (identifier) @name))) @definition.function
            (macro_definition (signature (call_expression . (identifier) @name))) @definition.macro
            (source_file (assignment . (call_expression . (identifier) @name)) @definition.function)
            (module_definition (assignment . (call_expression . (identifier) @name)) @definition.function)
            (const_statement (assignment . (identifier) @name)) @definition.constant
            """,
            """
            (using_statement (identifier) @import)
            (import_statement (identifier) @import)
            (import_statement (selected_import . (identifier) @import))
            """,
            ("identifier",),
        ),
        "dockerfile": LanguageSpec(
            """
            (from_instruction as: (image_alias) @name) @definition.stage
            (from_instruction (image_spec) @name) @definition.stage
            """,
            verbatim=True,
        ),
        "sql": LanguageSpec(
            """
            (create_table (object_reference name: (identifier) @name)) @definition.table
            (create_view (object_reference name: (identifier) @name)) @definition.view
            (create_function (object_reference name: (identifier) @name)) @definition.function
            (create_index column: (identifier) @name) @definition.index
            """,
            verbatim=True,
        ),
        "nix": LanguageSpec("(binding attrpath: (_) @name) @definition.attribute", verbatim=True, max_depth=2),
        "perl": LanguageSpec(
            """
            (package_statement name: (package) @name) @definition.package
            (subroutine_declaration_statement name: (bareword) @name) @definition.function
            """,
            """
            (use_statement module: (package) @import)
            (require_expression (bareword) @import)
            """,
        ),
        "powershell": LanguageSpec(
            """
            (function_statement (function_name) @name) @definition.function
            (class_statement . (simple_name) @name) @definition.class
            (class_method_definition (simple_name) @name) @definition.method
            (enum_statement . (simple_name) @name) @definition.enum
            """,
            identifiers=("command_name",),
        ),
        "verilog": LanguageSpec(
            """
            (module_declaration (module_header (simple_identifier) @name)) @definition.module
            (function_declaration (function_body_declaration (function_identifier (function_identifier
              (simple_identifier) @name)))) @definition.function
            (task_declaration (task_body_declaration (task_identifier (task_identifier
              (simple_identifier) @name)))) @definition.task
            """,
        ),
        "fortran": LanguageSpec(
            """
            (program (program_statement (name) @name)) @definition.program
            (module (module_statement (name) @name)) @definition.module
            (function (function_statement name: (name) @name)) @definition.function
            (subroutine (subroutine_statement name: (name) @name)) @definition.subroutine
            (derived_type_definition (derived_type_statement (type_name) @name)) @definition.type
            """,
            "(use_statement (module_name) @import)",
            ("identifier",),
        ),
        "groovy": LanguageSpec(
            """
            (class_declaration name: (identifier) @name) @definition.class
            (interface_declaration name: (identifier) @name) @definition.interface
            (method_declaration name: (identifier) @name) @definition.method
            (function_definition name: (identifier) @name) @definition.function
            """,
            "(import_declaration (scoped_identifier) @import)",
            ("identifier",),
        ),
    }
)
