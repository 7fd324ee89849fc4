from portal.roles import role_of


def role(request):
    return {"role": role_of(request.user).value}
