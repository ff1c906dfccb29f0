/*
 * cpython_api.h — the slice of the CPython C API that the recorder uses, declared by hand.
 *
 * There is deliberately no Python.h and no -lpython: the recorder is a shared library that ctypes
 * loads into an already running interpreter, so every undefined Py* symbol binds to that
 * interpreter (3.9 to 3.13), exactly as an extension module's do. Only functions exported by
 * EVERY supported version are declared here (ctypes binds with RTLD_NOW; a missing symbol would
 * fail the load). Newer functions (PyFrame_GetVar 3.12+, PyFrame_GetLocals 3.11+, ...) are looked
 * up at run time with dlsym in PythonAPI.swift.
 *
 * Object layout assumptions (default, non-free-threaded builds of 3.9-3.13, all stable):
 *   PyObject     = { Py_ssize_t ob_refcnt; PyTypeObject *ob_type; }
 *   PyTypeObject = { PyObject_VAR_HEAD (24 bytes); const char *tp_name; ... }
 */
#ifndef TRACESNAP_CPYTHON_API_H
#define TRACESNAP_CPYTHON_API_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef ssize_t Py_ssize_t;
typedef struct _object PyObject;
typedef struct _frame PyFrameObject;
typedef struct PyCodeObject PyCodeObject;
typedef struct _typeobject PyTypeObject;

/* Trace function (PyEval_SetTrace) */
typedef int (*Py_tracefunc)(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg);
#define TS_PyTrace_CALL 0
#define TS_PyTrace_EXCEPTION 1
#define TS_PyTrace_LINE 2
#define TS_PyTrace_RETURN 3
#define TS_PyTrace_C_CALL 4
#define TS_PyTrace_C_EXCEPTION 5
#define TS_PyTrace_C_RETURN 6
#define TS_PyTrace_OPCODE 7

void PyEval_SetTrace(Py_tracefunc func, PyObject *obj);
PyFrameObject *PyEval_GetFrame(void);
PyObject *PyEval_GetGlobals(void);
PyObject *PyEval_GetLocals(void);
PyCodeObject *PyFrame_GetCode(PyFrameObject *frame);
PyFrameObject *PyFrame_GetBack(PyFrameObject *frame);
int PyFrame_GetLineNumber(PyFrameObject *frame);

/* Method definitions for native callables (sys.monitoring callbacks). */
typedef PyObject *(*TSPyFastCFunction)(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
typedef struct TSPyMethodDef {
    const char *ml_name;
    void *ml_meth;
    int ml_flags;
    const char *ml_doc;
} TSPyMethodDef;
#define TS_METH_FASTCALL 0x0080
PyObject *PyCFunction_NewEx(TSPyMethodDef *ml, PyObject *self, PyObject *module);

/* Reference counting (functions, not macros: there is no Python.h) */
void Py_IncRef(PyObject *o);
void Py_DecRef(PyObject *o);

/* Objects */
PyObject *PyObject_Repr(PyObject *o);
PyObject *PyObject_Str(PyObject *o);
PyObject *PyObject_GetAttrString(PyObject *o, const char *name);
PyObject *PyObject_GetAttr(PyObject *o, PyObject *name);
int PyObject_SetAttrString(PyObject *o, const char *name, PyObject *value);
int PyObject_HasAttrString(PyObject *o, const char *name);
PyObject *PyObject_GetItem(PyObject *o, PyObject *key);
PyObject *PyObject_CallObject(PyObject *callable, PyObject *args);
Py_ssize_t PyObject_Size(PyObject *o);
PyObject *PyObject_GetIter(PyObject *o);
PyObject *PyIter_Next(PyObject *iter);
PyObject *PyObject_GenericGetDict(PyObject *o, void *context);
int PyType_IsSubtype(PyTypeObject *a, PyTypeObject *b);
unsigned long PyType_GetFlags(PyTypeObject *type);

/* Strings */
const char *PyUnicode_AsUTF8AndSize(PyObject *unicode, Py_ssize_t *size);
PyObject *PyUnicode_FromStringAndSize(const char *s, Py_ssize_t size);
PyObject *PyUnicode_FromString(const char *s);
PyObject *PyUnicode_Substring(PyObject *s, Py_ssize_t start, Py_ssize_t end);
Py_ssize_t PyUnicode_GetLength(PyObject *s);
void PyUnicode_InternInPlace(PyObject **s);

/* Containers */
PyObject *PyDict_GetItem(PyObject *d, PyObject *key);
PyObject *PyDict_GetItemString(PyObject *d, const char *key);
PyObject *PyImport_GetModuleDict(void);
PyObject *PyDict_GetItemWithError(PyObject *d, PyObject *key);
int PyDict_Next(PyObject *d, Py_ssize_t *pos, PyObject **key, PyObject **value);
Py_ssize_t PyDict_Size(PyObject *d);
PyObject *PyDict_Copy(PyObject *d);
int PyDict_Update(PyObject *a, PyObject *b);
void PyDict_Clear(PyObject *d);
PyObject *PyDict_New(void);
int PyDict_SetItem(PyObject *d, PyObject *key, PyObject *value);
PyObject *PyList_GetItem(PyObject *l, Py_ssize_t i);
Py_ssize_t PyList_Size(PyObject *l);
PyObject *PyTuple_GetItem(PyObject *t, Py_ssize_t i);
Py_ssize_t PyTuple_Size(PyObject *t);
PyObject *PyTuple_New(Py_ssize_t n);
int PyTuple_SetItem(PyObject *t, Py_ssize_t i, PyObject *o);
Py_ssize_t PySet_Size(PyObject *s);
PyObject *PySequence_GetSlice(PyObject *o, Py_ssize_t i1, Py_ssize_t i2);
Py_ssize_t PyBytes_Size(PyObject *o);
char *PyBytes_AsString(PyObject *o);

/* Numbers */
PyObject *PyLong_FromLong(long v);
PyObject *PyLong_FromLongLong(long long v);
long long PyLong_AsLongLong(PyObject *o);
long long PyLong_AsLongLongAndOverflow(PyObject *o, int *overflow);
PyObject *PyBool_FromLong(long v);

/* Errors */
void PyErr_Fetch(PyObject **type, PyObject **value, PyObject **traceback);
void PyErr_Restore(PyObject *type, PyObject *value, PyObject *traceback);
void PyErr_Clear(void);
PyObject *PyErr_Occurred(void);

/* Threads */
unsigned long PyThread_get_thread_ident(void);

/* Built-in type objects and singletons (exported data). */
extern PyTypeObject PyLong_Type;
extern PyTypeObject PyBool_Type;
extern PyTypeObject PyFloat_Type;
extern PyTypeObject PyComplex_Type;
extern PyTypeObject PyUnicode_Type;
extern PyTypeObject PyBytes_Type;
extern PyTypeObject PyByteArray_Type;
extern PyTypeObject PyList_Type;
extern PyTypeObject PyTuple_Type;
extern PyTypeObject PyDict_Type;
extern PyTypeObject PySet_Type;
extern PyTypeObject PyFrozenSet_Type;
extern PyTypeObject PyRange_Type;
extern PyTypeObject PyFunction_Type;
extern PyTypeObject PyType_Type;
extern PyTypeObject PyModule_Type;
extern PyTypeObject PyCFunction_Type;
extern PyTypeObject PyMethod_Type;
extern PyTypeObject PyBaseObject_Type;
extern PyObject _Py_NoneStruct;
extern PyObject _Py_TrueStruct;
extern PyObject _Py_FalseStruct;

/* Inline helpers over the stable object header. */
static inline PyTypeObject *TSPy_TYPE(PyObject *o) { return ((PyTypeObject **)o)[1]; }
static inline const char *TSPyType_Name(PyTypeObject *t) { return ((const char **)t)[3]; }
static inline PyObject *TSPy_None(void) { return &_Py_NoneStruct; }
static inline PyObject *TSPy_True(void) { return &_Py_TrueStruct; }
static inline PyObject *TSPy_False(void) { return &_Py_FalseStruct; }
static inline PyTypeObject *TSPyLong_Type(void) { return &PyLong_Type; }
static inline PyTypeObject *TSPyBool_Type(void) { return &PyBool_Type; }
static inline PyTypeObject *TSPyFloat_Type(void) { return &PyFloat_Type; }
static inline PyTypeObject *TSPyComplex_Type(void) { return &PyComplex_Type; }
static inline PyTypeObject *TSPyUnicode_Type(void) { return &PyUnicode_Type; }
static inline PyTypeObject *TSPyBytes_Type(void) { return &PyBytes_Type; }
static inline PyTypeObject *TSPyByteArray_Type(void) { return &PyByteArray_Type; }
static inline PyTypeObject *TSPyList_Type(void) { return &PyList_Type; }
static inline PyTypeObject *TSPyTuple_Type(void) { return &PyTuple_Type; }
static inline PyTypeObject *TSPyDict_Type(void) { return &PyDict_Type; }
static inline PyTypeObject *TSPySet_Type(void) { return &PySet_Type; }
static inline PyTypeObject *TSPyFrozenSet_Type(void) { return &PyFrozenSet_Type; }
static inline PyTypeObject *TSPyRange_Type(void) { return &PyRange_Type; }
static inline PyTypeObject *TSPyFunction_Type(void) { return &PyFunction_Type; }
static inline PyTypeObject *TSPyType_Type(void) { return &PyType_Type; }
static inline PyTypeObject *TSPyModule_Type(void) { return &PyModule_Type; }
static inline PyTypeObject *TSPyCFunction_Type(void) { return &PyCFunction_Type; }
static inline PyTypeObject *TSPyMethod_Type(void) { return &PyMethod_Type; }
static inline PyTypeObject *TSPyBaseObject_Type(void) { return &PyBaseObject_Type; }

/* Py_TPFLAGS_HEAPTYPE: the type was created by a class statement (its tp_name has no module). */
#define TS_Py_TPFLAGS_HEAPTYPE (1UL << 9)

#endif /* TRACESNAP_CPYTHON_API_H */
