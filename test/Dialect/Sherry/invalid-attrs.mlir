// RUN: sherry-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{unknown packed layout 'tq2_0'; expected 'sherry', 'stq1_0' or 'tables'}}
func.func @f() attributes {a = #sherry.layout<tq2_0>} { return }

// -----

// expected-error @+1 {{the stq1_0 layout keeps one f16 scale per 256-element block inside its bytes; it takes no scale granularity or scale type}}
func.func @f() attributes {a = #sherry.layout<stq1_0, row>} { return }

// -----

// expected-error @+1 {{scale group size must be a positive multiple of 4 (whole weight groups), got 6}}
func.func @f() attributes {a = #sherry.layout<sherry, group = 6>} { return }

// -----

// expected-error @+1 {{scale group size must be a positive multiple of 4 (whole weight groups), got 0}}
func.func @f() attributes {a = #sherry.layout<sherry, group = 0>} { return }

// -----

// expected-error @+1 {{scale_type must be f32 or f16, got 'bf16'}}
func.func @f() attributes {a = #sherry.layout<sherry, row, scale_type = bf16>} { return }

// -----

// expected-error @+1 {{unknown layout parameter 'rows'; expected 'tensor', 'row', 'group = G' or 'scale_type = T'}}
func.func @f() attributes {a = #sherry.layout<sherry, rows>} { return }

// -----

// expected-error @+1 {{scale granularity given twice}}
func.func @f() attributes {a = #sherry.layout<sherry, row, tensor>} { return }

// -----

// expected-error @+1 {{'scale_type' given twice}}
func.func @f() attributes {a = #sherry.layout<sherry, scale_type = f16, scale_type = f32>} { return }
